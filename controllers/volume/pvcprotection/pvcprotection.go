package pvcprotection

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// Finalizer is the finalizer that holds a claim in use.
const Finalizer = "kubernetes.io/pvc-protection"

// Descriptor is the PVC protection controller.
var Descriptor = controllers.Descriptor{Name: "pvc-protection", Setup: Setup}

// Setup registers the PVC protection controller with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{Client: c.Manager.GetClient(), Reader: c.Manager.GetAPIReader()}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("pvc-protection").
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(predicate.NewPredicateFuncs(deletingWithFinalizer))).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(claimsOfPod)).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

func deletingWithFinalizer(o client.Object) bool {
	return o.GetDeletionTimestamp() != nil && slices.Contains(o.GetFinalizers(), Finalizer)
}

// Reconciler removes the finalizer of an unused claim being deleted.
type Reconciler struct {
	Client client.Client
	// Reader lists pods live, so a pod the cache has not seen yet still
	// protects the claim.
	Reader client.Reader
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := r.Client.Get(ctx, req.NamespacedName, pvc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !deletingWithFinalizer(pvc) {
		return reconcile.Result{}, nil
	}
	for _, reader := range []client.Reader{r.Client, r.Reader} {
		used, err := usedBy(ctx, reader, pvc)
		if err != nil {
			return reconcile.Result{}, fmt.Errorf("claim %s: %w", req.NamespacedName, err)
		}
		if used != "" {
			ctrl.LoggerFrom(ctx).V(4).Info("Claim is in use, keeping its finalizer", "pod", used)
			return reconcile.Result{}, nil
		}
	}
	next := pvc.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == Finalizer })
	if err := r.Client.Update(ctx, next); err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{Requeue: true}, nil
		}
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("remove finalizer of claim %s: %w", req.NamespacedName, err))
	}
	ctrl.LoggerFrom(ctx).V(3).Info("Removed protection finalizer from unused claim")
	return reconcile.Result{}, nil
}

// usedBy returns the name of a pod of the claim's namespace that uses it
// ("" for none).
func usedBy(ctx context.Context, reader client.Reader, pvc *corev1.PersistentVolumeClaim) (string, error) {
	pods := &corev1.PodList{}
	if err := reader.List(ctx, pods, client.InNamespace(pvc.Namespace)); err != nil {
		return "", fmt.Errorf("list pods: %w", err)
	}
	for i := range pods.Items {
		if PodUsesClaim(&pods.Items[i], pvc) {
			return pods.Items[i].Name, nil
		}
	}
	return "", nil
}

// PodUsesClaim reports whether pod holds pvc: it is scheduled (the kubelet
// will not start a pod on a claim being deleted, so an unscheduled one does
// not count) and mounts it, directly or as its generic ephemeral volume. A
// pod the kubelet is done with (deleted with a zero grace period) no longer
// holds its ephemeral volumes.
func PodUsesClaim(pod *corev1.Pod, pvc *corev1.PersistentVolumeClaim) bool {
	if pod.Spec.NodeName == "" || pod.Namespace != pvc.Namespace {
		return false
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
			return true
		}
		if v.Ephemeral != nil && !shutDown(pod) && pod.Name+"-"+v.Name == pvc.Name && metav1.IsControlledBy(pvc, pod) {
			return true
		}
	}
	return false
}

func shutDown(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds == 0
}

// claimsOfPod maps a pod to the claims it references.
func claimsOfPod(_ context.Context, o client.Object) []reconcile.Request {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: pod.Namespace, Name: v.PersistentVolumeClaim.ClaimName}})
		case v.Ephemeral != nil:
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: pod.Namespace, Name: pod.Name + "-" + v.Name}})
		}
	}
	return out
}
