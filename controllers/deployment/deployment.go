package deployment

import (
	"context"
	"fmt"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

// Descriptor is the deployment controller.
var Descriptor = controllers.Descriptor{Name: "deployment", Setup: Setup}

var deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Setup registers the deployment controller with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &reconciler{
		client:   c.Manager.GetClient(),
		reader:   c.Manager.GetAPIReader(),
		recorder: c.Manager.GetEventRecorderFor("deployment-controller"),
		now:      time.Now,
	}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("deployment").
		For(&appsv1.Deployment{}).
		Watches(&appsv1.ReplicaSet{}, handler.EnqueueRequestsFromMapFunc(r.mapReplicaSet)).
		Watches(&corev1.Pod{}, r.podHandler()).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up deployment controller: %w", err)
	}
	return nil
}

type reconciler struct {
	client   client.Client
	reader   client.Reader
	recorder record.EventRecorder
	now      func() time.Time
}

// mapReplicaSet enqueues a ReplicaSet's controlling Deployment, or, for an
// orphan, every Deployment whose selector matches it (to adopt it).
func (r *reconciler) mapReplicaSet(ctx context.Context, obj client.Object) []reconcile.Request {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		if ref.Kind != deploymentGVK.Kind || ref.APIVersion != deploymentGVK.GroupVersion().String() {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name}}}
	}
	var list appsv1.DeploymentList
	if err := r.client.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		sel, err := metav1.LabelSelectorAsSelector(list.Items[i].Spec.Selector)
		if err == nil && podcontrol.MatchesSelector(sel, obj.GetLabels()) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// podHandler enqueues the Deployment whose ReplicaSet controls a pod when
// the pod terminates or goes away: Recreate waits for old pods to be gone.
func (r *reconciler) podHandler() handler.EventHandler {
	enqueue := func(ctx context.Context, pod *corev1.Pod, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		ref := metav1.GetControllerOf(pod)
		if ref == nil || ref.Kind != "ReplicaSet" {
			return
		}
		var rs appsv1.ReplicaSet
		if err := r.client.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, &rs); err != nil || rs.UID != ref.UID {
			return
		}
		for _, req := range r.mapReplicaSet(ctx, &rs) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if pod, ok := e.ObjectNew.(*corev1.Pod); ok && (pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded) {
				enqueue(ctx, pod, q)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if pod, ok := e.Object.(*corev1.Pod); ok {
				enqueue(ctx, pod, q)
			}
		},
	}
}

// Reconcile syncs one Deployment.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var d appsv1.Deployment
	if err := r.client.Get(ctx, req.NamespacedName, &d); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get deployment %s: %w", req, err)
	}
	s := &syncer{reconciler: r, d: d.DeepCopy()}
	res, err := s.sync(ctx)
	if apierrors.IsConflict(err) {
		// A stale cache: the next event (ours) brings the fresh object.
		ctrl.LoggerFrom(ctx).V(2).Info("Conflict syncing deployment, requeueing", "error", err.Error())
		return reconcile.Result{Requeue: true}, nil
	}
	return res, err
}

// syncer holds one sync of one Deployment.
type syncer struct {
	*reconciler
	d            *appsv1.Deployment
	requeueAfter time.Duration
}

func (s *syncer) sync(ctx context.Context) (reconcile.Result, error) {
	d := s.d
	everything := metav1.LabelSelector{}
	if d.Spec.Selector == nil || reflect.DeepEqual(*d.Spec.Selector, everything) {
		s.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return reconcile.Result{}, s.updateStatus(ctx, d.Status)
		}
		return reconcile.Result{}, nil
	}
	rss, err := s.claimReplicaSets(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	if d.DeletionTimestamp != nil {
		return reconcile.Result{}, s.syncStatusOnly(ctx, rss)
	}
	if err := s.checkPausedConditions(ctx); err != nil {
		return reconcile.Result{}, err
	}
	if d.Spec.Paused {
		return reconcile.Result{}, s.scaleSync(ctx, rss)
	}
	scaling, err := s.isScalingEvent(rss)
	if err != nil {
		return reconcile.Result{}, err
	}
	if scaling {
		return reconcile.Result{}, s.scaleSync(ctx, rss)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		err = s.rolloutRecreate(ctx, rss)
	default:
		err = s.rolloutRolling(ctx, rss)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: s.requeueAfter}, nil
}

// claimReplicaSets lists the namespace's ReplicaSets and adopts/releases
// them by d's selector, returning d's.
func (s *syncer) claimReplicaSets(ctx context.Context) ([]*appsv1.ReplicaSet, error) {
	d := s.d
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s selector: %w", d.Namespace, d.Name, err)
	}
	var list appsv1.ReplicaSetList
	if err := s.client.List(ctx, &list, client.InNamespace(d.Namespace)); err != nil {
		return nil, fmt.Errorf("list replicasets: %w", err)
	}
	rss := make([]*appsv1.ReplicaSet, len(list.Items))
	for i := range list.Items {
		rss[i] = &list.Items[i]
	}
	c := &podcontrol.Claimer{
		Client:   s.client,
		Owner:    d,
		OwnerGVK: deploymentGVK,
		Selector: sel,
		CanAdopt: podcontrol.RecheckOwner(s.reader, d, &appsv1.Deployment{}),
	}
	return podcontrol.Claim(ctx, c, rss)
}

// podsByReplicaSet lists the pods each of rss controls.
func (s *syncer) podsByReplicaSet(ctx context.Context, rss []*appsv1.ReplicaSet) (map[types.UID][]*corev1.Pod, error) {
	var list corev1.PodList
	if err := s.client.List(ctx, &list, client.InNamespace(s.d.Namespace)); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := map[types.UID][]*corev1.Pod{}
	for _, rs := range rss {
		out[rs.UID] = nil
	}
	for i := range list.Items {
		p := &list.Items[i]
		if ref := metav1.GetControllerOf(p); ref != nil {
			if _, ok := out[ref.UID]; ok {
				out[ref.UID] = append(out[ref.UID], p)
			}
		}
	}
	return out, nil
}

func (s *syncer) updateStatus(ctx context.Context, st appsv1.DeploymentStatus) error {
	s.d.Status = st
	if err := s.client.Status().Update(ctx, s.d); err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", s.d.Namespace, s.d.Name, err)
	}
	return nil
}

// checkPausedConditions records pausing and resuming in the Progressing
// condition, so the progress deadline does not count paused time.
func (s *syncer) checkPausedConditions(ctx context.Context) error {
	d := s.d
	if !HasProgressDeadline(d) {
		return nil
	}
	cond := GetCondition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonProgressDeadlineExceeded {
		return nil
	}
	paused := cond != nil && cond.Reason == ReasonDeploymentPaused
	st := *d.Status.DeepCopy()
	switch {
	case d.Spec.Paused && !paused:
		SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentPaused, "Deployment is paused", s.now()))
	case !d.Spec.Paused && paused:
		SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentResumed, "Deployment is resumed", s.now()))
	default:
		return nil
	}
	return s.updateStatus(ctx, st)
}

// isScalingEvent: some active ReplicaSet was sized for another replica
// count than d's.
func (s *syncer) isScalingEvent(rss []*appsv1.ReplicaSet) (bool, error) {
	newRS := FindNewReplicaSet(s.d, rss)
	_, oldRSs := FindOldReplicaSets(newRS, rss)
	for _, rs := range activeReplicaSets(append(oldRSs, newRS)) {
		desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
		if ok && desired != Replicas(s.d) {
			return true, nil
		}
	}
	return false, nil
}

// syncStatusOnly only reports status (a Deployment being deleted).
func (s *syncer) syncStatusOnly(ctx context.Context, rss []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(ctx, rss, false)
	if err != nil {
		return err
	}
	return s.syncDeploymentStatus(ctx, append(oldRSs, newRS), newRS)
}

// scaleSync resizes the ReplicaSets for a scaling event or a paused
// Deployment, without rolling anything out.
func (s *syncer) scaleSync(ctx context.Context, rss []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(ctx, rss, false)
	if err != nil {
		return err
	}
	if err := s.scale(ctx, newRS, oldRSs); err != nil {
		return err
	}
	if s.d.Spec.Paused {
		if err := s.cleanup(ctx, oldRSs); err != nil {
			return err
		}
	}
	return s.syncDeploymentStatus(ctx, append(oldRSs, newRS), newRS)
}

func (s *syncer) syncDeploymentStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	st := CalculateStatus(s.d, all, newRS, s.now())
	if reflect.DeepEqual(s.d.Status, st) {
		return nil
	}
	return s.updateStatus(ctx, st)
}
