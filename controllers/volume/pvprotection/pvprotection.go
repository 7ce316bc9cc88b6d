package pvprotection

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// Finalizer is the finalizer that holds a bound volume.
const Finalizer = "kubernetes.io/pv-protection"

// Descriptor is the PV protection controller.
var Descriptor = controllers.Descriptor{Name: "pv-protection", Setup: Setup}

// Setup registers the PV protection controller with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{Client: c.Manager.GetClient()}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("pv-protection").
		For(&corev1.PersistentVolume{}, builder.WithPredicates(predicate.NewPredicateFuncs(deletingWithFinalizer))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

func deletingWithFinalizer(o client.Object) bool {
	return o.GetDeletionTimestamp() != nil && slices.Contains(o.GetFinalizers(), Finalizer)
}

// InUse reports whether a volume is still used: it is Bound.
func InUse(pv *corev1.PersistentVolume) bool { return pv.Status.Phase == corev1.VolumeBound }

// Reconciler removes the finalizer of an unbound volume being deleted.
type Reconciler struct{ Client client.Client }

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pv := &corev1.PersistentVolume{}
	if err := r.Client.Get(ctx, req.NamespacedName, pv); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !deletingWithFinalizer(pv) || InUse(pv) {
		return reconcile.Result{}, nil
	}
	next := pv.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == Finalizer })
	if err := r.Client.Update(ctx, next); err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{Requeue: true}, nil
		}
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("remove finalizer of volume %s: %w", req.Name, err))
	}
	ctrl.LoggerFrom(ctx).V(3).Info("Removed protection finalizer from unbound volume")
	return reconcile.Result{}, nil
}
