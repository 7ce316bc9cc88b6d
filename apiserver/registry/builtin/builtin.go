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
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/admissionregistration"
	"github.com/skiff-dev/skiff/apiserver/registry/apps"
	"github.com/skiff-dev/skiff/apiserver/registry/authentication"
	"github.com/skiff-dev/skiff/apiserver/registry/authorization"
	"github.com/skiff-dev/skiff/apiserver/registry/autoscaling"
	"github.com/skiff-dev/skiff/apiserver/registry/batch"
	"github.com/skiff-dev/skiff/apiserver/registry/certificates"
	"github.com/skiff-dev/skiff/apiserver/registry/coordination"
	"github.com/skiff-dev/skiff/apiserver/registry/core"
	"github.com/skiff-dev/skiff/apiserver/registry/core/componentstatus"
	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
	"github.com/skiff-dev/skiff/apiserver/registry/core/service"
	"github.com/skiff-dev/skiff/apiserver/registry/discovery"
	"github.com/skiff-dev/skiff/apiserver/registry/events"
	"github.com/skiff-dev/skiff/apiserver/registry/flowcontrol"
	"github.com/skiff-dev/skiff/apiserver/registry/metrics"
	"github.com/skiff-dev/skiff/apiserver/registry/networking"
	"github.com/skiff-dev/skiff/apiserver/registry/node"
	"github.com/skiff-dev/skiff/apiserver/registry/policy"
	rbacregistry "github.com/skiff-dev/skiff/apiserver/registry/rbac"
	"github.com/skiff-dev/skiff/apiserver/registry/resource"
	"github.com/skiff-dev/skiff/apiserver/registry/scheduling"
	"github.com/skiff-dev/skiff/apiserver/registry/storage"
	"github.com/skiff-dev/skiff/apiserver/registry/storagemigration"
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
	ServiceAccountToken func(serviceAccounts, secrets, pods, nodes rest.Getter) (rest.Storage, error)
	// Services configures Service ClusterIP and NodePort allocation (its
	// IPAddresses are filled in here); Allocators receives the allocators.
	Services   service.Config
	Allocators *service.Allocators
	// Storage is the etcd configuration componentstatuses probes.
	Storage storagebackend.Config
	// Kubelet says how pods/log, exec, attach, portforward and the node,
	// pod and service proxies reach kubelets.
	Kubelet kubeletproxy.Config
	// ResourceMetrics serves metrics.k8s.io; left empty, the group is not
	// served.
	ResourceMetrics metrics.Config
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
	if c.Allocators == nil {
		c.Allocators = &service.Allocators{}
	}
	// Services record their ClusterIPs as IPAddresses, whose storage the
	// networking group builds after core.
	var ipAddresses service.IPAddresses
	// User-created ServiceCIDRs extend the allocatable ranges.
	var serviceCIDRs service.ServiceCIDRs
	// Evictions check PodDisruptionBudgets, built after core too.
	var budgets *genericregistry.Store
	c.Services.IPAddresses = func() service.IPAddresses { return ipAddresses }
	c.Services.ServiceCIDRs = func() service.ServiceCIDRs { return serviceCIDRs }
	return []Group{
		{
			GroupVersion: corev1.SchemeGroupVersion,
			Extra:        map[string]rest.Storage{"componentstatuses": componentstatus.New(c.Storage, c.Tables(corev1.Resource("componentstatuses")))},
			Resources: core.Resources(core.Config{EventTTL: c.EventTTL, Tables: c.Tables, Services: c.Services, Allocators: c.Allocators,
				Budgets: func() *genericregistry.Store { return budgets }, Kubelet: c.Kubelet}),
			Subresources: func(built map[string]rest.Storage) (map[string]rest.Storage, error) {
				sa, ok := built["serviceaccounts"].(rest.Getter)
				secrets, _ := built["secrets"].(rest.Getter)
				pods, _ := built["pods"].(rest.Getter)
				nodes, _ := built["nodes"].(rest.Getter)
				if !ok || c.ServiceAccountToken == nil {
					return nil, nil
				}
				token, err := c.ServiceAccountToken(sa, secrets, pods, nodes)
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
		{GroupVersion: appsv1.SchemeGroupVersion, Resources: apps.Resources(c.Tables)},
		{GroupVersion: eventsv1.SchemeGroupVersion, Resources: events.Resources(c.EventTTL, c.Tables)},
		{GroupVersion: autoscalingv2.SchemeGroupVersion, Resources: autoscaling.Resources(autoscalingv2.SchemeGroupVersion, c.Tables)},
		{GroupVersion: autoscalingv1.SchemeGroupVersion, Resources: autoscaling.Resources(autoscalingv1.SchemeGroupVersion, c.Tables)},
		{GroupVersion: batchv1.SchemeGroupVersion, Resources: batch.Resources(c.Tables)},
		{GroupVersion: certificatesv1.SchemeGroupVersion, Resources: certificates.Resources(c.Tables, c.Authorizer)},
		{
			GroupVersion: networkingv1.SchemeGroupVersion, Resources: networking.Resources(c.Tables),
			Subresources: func(built map[string]rest.Storage) (map[string]rest.Storage, error) {
				// With ipaddresses turned off, Service creates that need a
				// ClusterIP fail with a message saying so.
				if store, ok := built["ipaddresses"].(service.IPAddresses); ok {
					ipAddresses = store
				}
				if store, ok := built["servicecidrs"].(service.ServiceCIDRs); ok {
					serviceCIDRs = store
				}
				return nil, nil
			},
		},
		{
			GroupVersion: policyv1.SchemeGroupVersion, Resources: policy.Resources(c.Tables),
			Subresources: func(built map[string]rest.Storage) (map[string]rest.Storage, error) {
				if pdbs, ok := built["poddisruptionbudgets"].(*registry.REST); ok {
					budgets = pdbs.Store
				}
				return nil, nil
			},
		},
		{GroupVersion: storagev1.SchemeGroupVersion, Resources: storage.Resources(c.Tables)},
		{GroupVersion: schedulingv1.SchemeGroupVersion, Resources: scheduling.Resources(c.Tables)},
		{GroupVersion: nodev1.SchemeGroupVersion, Resources: node.Resources(c.Tables)},
		{GroupVersion: discoveryv1.SchemeGroupVersion, Resources: discovery.Resources(c.Tables)},
		{GroupVersion: flowcontrolv1.SchemeGroupVersion, Resources: flowcontrol.Resources(c.Tables)},
		{GroupVersion: resourcev1.SchemeGroupVersion, Resources: resource.Resources(c.Tables)},
		{GroupVersion: storagemigrationv1.SchemeGroupVersion, Resources: storagemigration.Resources(c.Tables)},
		{GroupVersion: metricsv1beta1.SchemeGroupVersion, Extra: metrics.Storage(c.ResourceMetrics)},
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
