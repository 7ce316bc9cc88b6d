package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/history"
	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

// Descriptor is the statefulset controller.
var Descriptor = controllers.Descriptor{Name: "statefulset", Setup: Setup}

// Setup registers the StatefulSet reconciler with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{
		Client:   c.Manager.GetClient(),
		Recorder: c.Manager.GetEventRecorderFor("statefulset-controller"),
	}
	return r.SetupWithManager(c.Manager, c.Options.Workers())
}

// Reconciler reconciles StatefulSets.
type Reconciler struct {
	Client   client.Client
	Recorder record.EventRecorder
	// now is the clock (time.Now when nil).
	now func() time.Time
}

// SetupWithManager registers r under the name "statefulset".
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("statefulset").
		For(&appsv1.StatefulSet{}).
		Owns(&corev1.Pod{}).
		Owns(&appsv1.ControllerRevision{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.orphanPodToSets)).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// orphanPodToSets enqueues the sets an orphan pod could be adopted by.
func (r *Reconciler) orphanPodToSets(ctx context.Context, obj client.Object) []reconcile.Request {
	pod, ok := obj.(*corev1.Pod)
	if !ok || metav1.GetControllerOf(pod) != nil {
		return nil
	}
	var sets appsv1.StatefulSetList
	if err := r.Client.List(ctx, &sets, client.InNamespace(pod.Namespace)); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range sets.Items {
		set := &sets.Items[i]
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) || !isMemberOf(set, pod) {
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(set)})
	}
	return out
}

func (r *Reconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// Reconcile brings one StatefulSet's pods, claims, revisions and status in
// line with its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	set := &appsv1.StatefulSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		log.Error(err, "Invalid selector")
		return ctrl.Result{}, nil
	}
	pods, err := r.claimPods(ctx, set, selector)
	if err != nil {
		return ctrl.Result{}, err
	}
	revisions, err := history.List(ctx, r.Client, set, setKind, selector)
	if err != nil {
		return ctrl.Result{}, err
	}
	s := &syncer{r: r, set: set, now: r.clock()}
	status, err := s.sync(ctx, revisions, pods)
	if status != nil {
		if uerr := r.updateStatus(ctx, set, status); uerr != nil && err == nil {
			err = uerr
		}
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if status != nil {
		if herr := s.truncateHistory(ctx, revisions, pods, status); herr != nil {
			return ctrl.Result{}, herr
		}
	}
	if s.requeueAfter > 0 {
		return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
	}
	return ctrl.Result{}, nil
}

// claimPods lists the set's pods, adopting orphans that match its selector
// and name pattern and releasing owned ones that no longer do.
func (r *Reconciler) claimPods(ctx context.Context, set *appsv1.StatefulSet, selector labels.Selector) ([]*corev1.Pod, error) {
	var list corev1.PodList
	if err := r.Client.List(ctx, &list, client.InNamespace(set.Namespace)); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	c := &podcontrol.Claimer{
		Client: r.Client, Owner: set, OwnerGVK: setKind, Selector: selector,
		Matches: func(o client.Object) bool { return isMemberOf(set, o.(*corev1.Pod)) },
	}
	return podcontrol.Claim(ctx, c, pods)
}

// updateStatus writes status when it differs from the set's.
func (r *Reconciler) updateStatus(ctx context.Context, set *appsv1.StatefulSet, status *appsv1.StatefulSetStatus) error {
	status.Conditions = set.Status.Conditions
	if equality.Semantic.DeepEqual(&set.Status, status) {
		return nil
	}
	upd := set.DeepCopy()
	upd.Status = *status
	if err := r.Client.Status().Update(ctx, upd); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// A newer set is (or will be) in the cache and queued again.
			return nil
		}
		return fmt.Errorf("update status of StatefulSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}
