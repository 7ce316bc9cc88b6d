package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// podHandler maps pod events to the controllers to sync, and observes the
// creations and deletions the expectations wait for.
func (r *reconciler) podHandler() handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			pod, ok := e.Object.(*corev1.Pod)
			if !ok {
				return
			}
			if pod.DeletionTimestamp != nil {
				// Seen first already terminating (e.g. after a restart).
				r.podGone(ctx, pod, q)
				return
			}
			if ref := metav1.GetControllerOf(pod); ref != nil {
				if req, ok := r.resolve(ctx, pod.Namespace, ref); ok {
					r.exp.CreationObserved(req.String())
					q.Add(req)
				}
				return
			}
			r.enqueueMatching(ctx, pod, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			oldPod, ok1 := e.ObjectOld.(*corev1.Pod)
			newPod, ok2 := e.ObjectNew.(*corev1.Pod)
			if !ok1 || !ok2 || oldPod.ResourceVersion == newPod.ResourceVersion {
				return
			}
			labelsChanged := !apiequality.Semantic.DeepEqual(oldPod.Labels, newPod.Labels)
			if newPod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
				r.podGone(ctx, newPod, q)
				if labelsChanged {
					r.podGone(ctx, oldPod, q)
				}
				return
			}
			oldRef, newRef := metav1.GetControllerOf(oldPod), metav1.GetControllerOf(newPod)
			refChanged := !apiequality.Semantic.DeepEqual(oldRef, newRef)
			if refChanged && oldRef != nil {
				if req, ok := r.resolve(ctx, oldPod.Namespace, oldRef); ok {
					q.Add(req)
				}
			}
			if newRef != nil {
				if req, ok := r.resolve(ctx, newPod.Namespace, newRef); ok {
					q.Add(req)
				}
				return
			}
			if labelsChanged || refChanged {
				r.enqueueMatching(ctx, newPod, q)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			if pod, ok := e.Object.(*corev1.Pod); ok {
				r.podGone(ctx, pod, q)
			}
		},
	}
}

// podGone records that pod is being (or has been) deleted.
func (r *reconciler) podGone(ctx context.Context, pod *corev1.Pod, q queue) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	if req, ok := r.resolve(ctx, pod.Namespace, ref); ok {
		r.exp.DeletionObserved(req.String(), pod.Namespace+"/"+pod.Name)
		q.Add(req)
	}
}

// resolve is the controller ref points at, if it is one of ours and exists
// with that UID.
func (r *reconciler) resolve(ctx context.Context, ns string, ref *metav1.OwnerReference) (reconcile.Request, bool) {
	if ref.Kind != r.kind.gvk.Kind || ref.APIVersion != r.kind.gvk.GroupVersion().String() {
		return reconcile.Request{}, false
	}
	obj := r.kind.newObject()
	key := types.NamespacedName{Namespace: ns, Name: ref.Name}
	if err := r.client.Get(ctx, key, obj); err != nil || obj.GetUID() != ref.UID {
		return reconcile.Request{}, false
	}
	return reconcile.Request{NamespacedName: key}, true
}

// enqueueMatching enqueues every controller whose selector matches an orphan
// pod, so one of them adopts it.
func (r *reconciler) enqueueMatching(ctx context.Context, pod *corev1.Pod, q queue) {
	for _, rs := range r.matching(ctx, pod) {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(rs)})
	}
}

func (r *reconciler) matching(ctx context.Context, pod *corev1.Pod) []*appsv1.ReplicaSet {
	all, err := r.kind.list(ctx, r.client, pod.Namespace)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List controllers for an orphan pod", "pod", klogRef(pod))
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range all {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil {
			continue
		}
		if podcontrol.MatchesSelector(sel, pod.Labels) {
			out = append(out, rs)
		}
	}
	return out
}

func klogRef(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }
