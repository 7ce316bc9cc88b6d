package namespace

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/skiff-dev/skiff/controllers"
)

// Descriptor is the namespace controller.
var Descriptor = controllers.Descriptor{Name: "namespace", Setup: Setup}

// Setup registers the namespace controller with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	cfg := RESTConfig(c.RESTConfig)
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("namespace controller: metadata client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("namespace controller: discovery client: %w", err)
	}
	r := &Reconciler{
		Reader: c.Manager.GetClient(),
		Deleter: &Deleter{
			Namespaces: c.Client.CoreV1().Namespaces(),
			Pods:       c.Client.CoreV1(),
			Metadata:   md,
			Discovery:  disc,
		},
	}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("namespace").
		For(&corev1.Namespace{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetDeletionTimestamp() != nil
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// RESTConfig is cfg with a client-side rate limit fit for deleting every
// resource of a namespace (cfg's own when it sets one).
func RESTConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 100, 200
	}
	return cfg
}

// Reconciler deletes terminating namespaces' content.
type Reconciler struct {
	Reader  client.Reader
	Deleter *Deleter
}

// Reconcile runs one deletion pass over a terminating namespace.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var ns corev1.Namespace
	if err := r.Reader.Get(ctx, req.NamespacedName, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ns.DeletionTimestamp == nil {
		return ctrl.Result{}, nil
	}
	start := time.Now()
	err := r.Deleter.Delete(ctx, req.Name)
	var remaining *ResourcesRemainingError
	if errors.As(err, &remaining) {
		log.V(2).Info("Content remains in namespace", "namespace", req.Name, "estimate", remaining.Estimate)
		return ctrl.Result{RequeueAfter: remaining.RequeueAfter()}, nil
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("delete namespace %s: %w", req.Name, err)
	}
	log.V(2).Info("Finished syncing namespace", "namespace", req.Name, "duration", time.Since(start))
	return ctrl.Result{}, nil
}
