package server

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/bootstrap/rbacpolicy"
)

// addRBACBootstrapHook creates and reconciles the bootstrap roles and
// bindings (cluster-admin, admin/edit/view, system:*) before the server
// reports ready, as kube-apiserver's rbac/bootstrap-roles hook does. It
// runs whatever the authorization mode, so that switching to RBAC later
// finds the policy in place.
func addRBACBootstrapHook(s *genericapiserver.GenericAPIServer, deps *dependencies) error {
	return addClientHook(s, "rbac/bootstrap-roles", func(ctx context.Context, client kubernetes.Interface) error {
		return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			if err := rbacpolicy.Ensure(ctx, client); err != nil {
				klog.FromContext(ctx).V(1).Info("Reconciling bootstrap RBAC policy failed, retrying", "err", err)
				return false, nil
			}
			return true, nil
		})
	})
}

// addClientHook adds the post-start hook name, which runs hook with a
// bootstrap client of the server's loopback config.
func addClientHook(s *genericapiserver.GenericAPIServer, name string, hook func(context.Context, kubernetes.Interface) error) error {
	return s.AddPostStartHook(name, func(hc genericapiserver.PostStartHookContext) error {
		client, err := bootstrapClient(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		started := time.Now()
		err = hook(hc, client)
		klog.FromContext(hc).V(2).Info("Post-start hook done", "hook", name, "duration", time.Since(started), "err", err)
		return err
	})
}

// bootstrapClient is a loopback client without client-side rate limiting
// (the bootstrap hooks write a few hundred objects while /readyz waits) and
// without warning logs.
func bootstrapClient(loopback *rest.Config) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(loopback)
	cfg.QPS = -1
	cfg.RateLimiter = nil
	// The server's own writes of deprecated kinds (the kubernetes Service's
	// v1 Endpoints, every reconcile) would log a deprecation warning each.
	cfg.WarningHandler = rest.NoWarnings{}
	return kubernetes.NewForConfig(cfg)
}
