package server

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/printers"
	"github.com/skiff-dev/skiff/apiserver/registry/builtin"
	"github.com/skiff-dev/skiff/apiserver/scheme"
)

// systemNamespaces are created before the server reports ready, as
// kube-apiserver's system-namespaces controller does.
var systemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// newBuiltinServer builds the server for the built-in groups, delegating
// unknown paths to delegate (apiextensions-apiserver).
func newBuiltinServer(c *genericapiserver.RecommendedConfig, o *Options, deps *dependencies, delegate genericapiserver.DelegationTarget) (*genericapiserver.GenericAPIServer, error) {
	completed := c.Complete()
	s, err := completed.New("skiff-apiserver", delegate)
	if err != nil {
		return nil, fmt.Errorf("create built-in API server: %w", err)
	}
	groups := builtin.Groups(builtin.Config{
		EventTTL:      o.EventTTL,
		Tables:        printers.TableConvertor,
		Authenticator: deps.authn.authenticator,
		APIAudiences:  deps.authn.audiences,
		Authorizer:    deps.authz.authorizer,
		RuleResolver:  deps.authz.ruleResolver,
		RBAC:          deps.authz.rbacChecks(),

		ServiceAccountToken: deps.authn.tokenREST,
	})
	enabled := func(gvr schema.GroupVersionResource) bool {
		return completed.MergedResourceConfig.ResourceEnabled(gvr)
	}
	infos := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	for _, g := range groups {
		if !completed.MergedResourceConfig.AnyResourceForGroupEnabled(g.GroupVersion.Group) {
			continue
		}
		storage, err := g.Build(scheme.Scheme, completed.RESTOptionsGetter, enabled)
		if err != nil {
			return nil, err
		}
		if len(storage) == 0 {
			continue
		}
		info, ok := infos[g.GroupVersion.Group]
		if !ok {
			i := genericapiserver.NewDefaultAPIGroupInfo(g.GroupVersion.Group, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
			info = &i
			infos[g.GroupVersion.Group] = info
			order = append(order, g.GroupVersion.Group)
		}
		info.VersionedResourcesStorageMap[g.GroupVersion.Version] = storage
	}
	for _, group := range order {
		info := infos[group]
		if group == "" {
			err = s.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, info)
		} else {
			err = s.InstallAPIGroups(info)
		}
		if err != nil {
			return nil, fmt.Errorf("install API group %q: %w", group, err)
		}
	}

	if err := s.AddPostStartHook("skiff-system-namespaces", func(hc genericapiserver.PostStartHookContext) error {
		client, err := bootstrapClient(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		return ensureNamespaces(hc, client, systemNamespaces)
	}); err != nil {
		return nil, err
	}
	if err := addRBACBootstrapHook(s, deps); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureNamespaces creates the namespaces that must exist, retrying until
// the server accepts writes or ctx ends.
func ensureNamespaces(ctx context.Context, client kubernetes.Interface, names []string) error {
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				klog.FromContext(ctx).V(1).Info("Creating system namespace failed, retrying", "namespace", name, "err", err)
				return false, nil
			}
		}
		return true, nil
	})
}
