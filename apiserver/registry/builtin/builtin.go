// Package builtin lists every built-in API group Skiff serves and the
// storage of each, so the server installs them in one loop. Adding a
// resource means adding its declaration to its group package and, for a
// new group, one entry here.
package builtin

import (
	"fmt"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/admissionregistration"
	"github.com/skiff-dev/skiff/apiserver/registry/authentication"
	"github.com/skiff-dev/skiff/apiserver/registry/authorization"
	"github.com/skiff-dev/skiff/apiserver/registry/coordination"
	"github.com/skiff-dev/skiff/apiserver/registry/core"
	rbacregistry "github.com/skiff-dev/skiff/apiserver/registry/rbac"
)

// Config is what the built-in groups need of the server.
type Config struct {
	EventTTL time.Duration
	// Tables returns the `kubectl get` columns of a resource, or nil.
	Tables func(schema.GroupResource) rest.TableConvertor

	Authenticator authenticator.Request
	APIAudiences  authenticator.Audiences
	Authorizer    authorizer.Authorizer
	RuleResolver  authorizer.RuleResolver
	// RBAC are the escalation checks of the RBAC API.
	RBAC rbacregistry.Checks
	// ServiceAccountToken, when set, serves serviceaccounts/token; it reads
	// service accounts and the secrets tokens may be bound to.
	ServiceAccountToken func(serviceAccounts, secrets rest.Getter) (rest.Storage, error)
}

// Group is one API group version and its storage.
type Group struct {
	GroupVersion schema.GroupVersion
	// Resources are the stored resources, declared through the registry.
	Resources []registry.Resource
	// Extra are resources that implement rest.Storage themselves (reviews).
	Extra map[string]rest.Storage
	// Subresources, when set, adds storage that needs the built storage of
	// the group (serviceaccounts/token reads service accounts).
	Subresources func(built map[string]rest.Storage) (map[string]rest.Storage, error)
}

// Groups returns every built-in group, core first.
func Groups(c Config) []Group {
	if c.Tables == nil {
		c.Tables = func(schema.GroupResource) rest.TableConvertor { return nil }
	}
	return []Group{
		{
			GroupVersion: corev1.SchemeGroupVersion,
			Resources:    core.Resources(core.Config{EventTTL: c.EventTTL, Tables: c.Tables}),
			Subresources: func(built map[string]rest.Storage) (map[string]rest.Storage, error) {
				sa, ok := built["serviceaccounts"].(rest.Getter)
				secrets, _ := built["secrets"].(rest.Getter)
				if !ok || c.ServiceAccountToken == nil {
					return nil, nil
				}
				token, err := c.ServiceAccountToken(sa, secrets)
				if err != nil {
					return nil, fmt.Errorf("serviceaccounts/token: %w", err)
				}
				return map[string]rest.Storage{"serviceaccounts/token": token}, nil
			},
		},
		{GroupVersion: authenticationv1.SchemeGroupVersion, Extra: authentication.Storage(c.Authenticator, c.APIAudiences)},
		{GroupVersion: authorizationv1.SchemeGroupVersion, Extra: authorization.Storage(c.Authorizer, c.RuleResolver)},
		{GroupVersion: rbacv1.SchemeGroupVersion, Resources: rbacregistry.Resources(c.Tables, c.RBAC)},
		{GroupVersion: admissionregistrationv1.SchemeGroupVersion, Resources: admissionregistration.Resources(c.Tables)},
		{GroupVersion: coordinationv1.SchemeGroupVersion, Resources: coordination.Resources(c.Tables)},
	}
}

var fieldLabelsOnce sync.Once

// Build returns the storage map of g for APIGroupInfo, registering the
// resources' field labels on s once per process.
func (g Group) Build(s *runtime.Scheme, opts generic.RESTOptionsGetter, enabled func(schema.GroupVersionResource) bool) (map[string]rest.Storage, error) {
	var err error
	fieldLabelsOnce.Do(func() { err = addAllFieldLabels(s) })
	if err != nil {
		return nil, err
	}
	out := map[string]rest.Storage{}
	for _, r := range g.Resources {
		if !enabled(g.GroupVersion.WithResource(r.GroupResource().Resource)) {
			continue
		}
		storages, err := r.Build(s, opts)
		if err != nil {
			return nil, err
		}
		for k, v := range storages {
			out[k] = v
		}
	}
	for k, v := range g.Extra {
		if enabled(g.GroupVersion.WithResource(k)) {
			out[k] = v
		}
	}
	if g.Subresources != nil {
		subs, err := g.Subresources(out)
		if err != nil {
			return nil, err
		}
		for k, v := range subs {
			out[k] = v
		}
	}
	return out, nil
}

func addAllFieldLabels(s *runtime.Scheme) error {
	for _, g := range Groups(Config{}) {
		for _, r := range g.Resources {
			if err := r.AddFieldLabelConversions(s); err != nil {
				return fmt.Errorf("register field labels of %s: %w", r.GroupResource(), err)
			}
		}
	}
	return nil
}
