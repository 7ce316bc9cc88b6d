package serviceaccount

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/skiff-dev/skiff/controllers"
)

// DefaultServiceAccountName is the ServiceAccount every namespace gets.
const DefaultServiceAccountName = "default"

// Descriptor is the default-ServiceAccount controller.
var Descriptor = controllers.Descriptor{Name: "serviceaccount", Setup: Setup}

// Setup registers the default-ServiceAccount controller.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{Client: c.Manager.GetClient(), Names: []string{DefaultServiceAccountName}}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("serviceaccount").
		For(&corev1.Namespace{}).
		Watches(&corev1.ServiceAccount{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			for _, n := range r.Names {
				if o.GetName() == n {
					return []ctrl.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
				}
			}
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// Reconciler ensures Names exist as ServiceAccounts in one namespace.
type Reconciler struct {
	Client client.Client
	Names  []string
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, req.NamespacedName, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ns.Status.Phase != corev1.NamespaceActive && ns.Status.Phase != "" || ns.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	for _, name := range r.Names {
		var sa corev1.ServiceAccount
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns.Name, Name: name}, &sa)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("getting service account %s/%s: %w", ns.Name, name, err)
		}
		sa = corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name}}
		err = r.Client.Create(ctx, &sa)
		switch {
		case err == nil:
			log.V(2).Info("Created service account", "serviceAccount", klog.KRef(ns.Name, name))
		case apierrors.IsAlreadyExists(err):
			// The cache has not seen it yet.
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause), apierrors.IsNotFound(err):
			return ctrl.Result{}, nil
		default:
			return ctrl.Result{}, fmt.Errorf("creating service account %s/%s: %w", ns.Name, name, err)
		}
	}
	return ctrl.Result{}, nil
}

// RootCA is the CA bundle controllers publish: the contents of
// c.Options.RootCAFile or, without one, the CA the controller manager
// trusts for the API server (its REST config's CAData or CAFile). It is
// empty when there is none.
func RootCA(c controllers.Context) ([]byte, error) {
	if c.Options.RootCAFile != "" {
		data, err := os.ReadFile(c.Options.RootCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading root CA file: %w", err)
		}
		return data, nil
	}
	if c.RESTConfig == nil {
		return nil, nil
	}
	if len(c.RESTConfig.CAData) > 0 {
		return c.RESTConfig.CAData, nil
	}
	if c.RESTConfig.CAFile != "" {
		data, err := os.ReadFile(c.RESTConfig.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading API server CA file: %w", err)
		}
		return data, nil
	}
	return nil, nil
}
