package daemonset

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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/history"
	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

// Descriptor is the daemonset controller.
var Descriptor = controllers.Descriptor{Name: "daemonset", Setup: Setup}

var dsKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Setup registers the DaemonSet reconciler with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{
		Client:   c.Manager.GetClient(),
		Recorder: c.Manager.GetEventRecorderFor("daemonset-controller"),
	}
	return r.SetupWithManager(c.Manager, c.Options.Workers())
}

// Reconciler reconciles DaemonSets.
type Reconciler struct {
	Client   client.Client
	Recorder record.EventRecorder

	exp     *expectations
	backoff *flowcontrol.Backoff
}

// SetupWithManager registers r under the name "daemonset".
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	r.exp = newExpectations()
	r.backoff = flowcontrol.NewBackOff(time.Second, 15*time.Minute)
	return ctrl.NewControllerManagedBy(mgr).
		Named("daemonset").
		For(&appsv1.DaemonSet{}).
		Owns(&appsv1.ControllerRevision{}).
		Watches(&corev1.Pod{}, r.podHandler()).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.allDaemonSets), builder.WithPredicates(nodeChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// podHandler observes creations and deletions for the expectations and
// queues a pod's DaemonSet (or, for an orphan, those that may adopt it).
func (r *Reconciler) podHandler() handler.EventHandler {
	enqueue := func(ctx context.Context, pod *corev1.Pod, q queue) {
		if ref := metav1.GetControllerOf(pod); ref != nil {
			if ref.Kind == dsKind.Kind && ref.APIVersion == dsKind.GroupVersion().String() {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}})
			}
			return
		}
		for _, req := range r.orphanPodToSets(ctx, pod) {
			q.Add(req)
		}
	}
	ownerKey := func(pod *corev1.Pod) (types.NamespacedName, bool) {
		ref := metav1.GetControllerOf(pod)
		if ref == nil || ref.Kind != dsKind.Kind {
			return types.NamespacedName{}, false
		}
		return types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, true
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			pod, ok := e.Object.(*corev1.Pod)
			if !ok {
				return
			}
			if key, ok := ownerKey(pod); ok {
				if pod.DeletionTimestamp != nil {
					r.exp.deleted(key, pod.UID)
				} else {
					r.exp.created(key)
				}
			}
			enqueue(ctx, pod, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			oldPod, ok1 := e.ObjectOld.(*corev1.Pod)
			pod, ok2 := e.ObjectNew.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			if key, ok := ownerKey(pod); ok && pod.DeletionTimestamp != nil {
				r.exp.deleted(key, pod.UID)
			}
			if !equality.Semantic.DeepEqual(metav1.GetControllerOf(oldPod), metav1.GetControllerOf(pod)) {
				enqueue(ctx, oldPod, q)
			}
			enqueue(ctx, pod, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			pod, ok := e.Object.(*corev1.Pod)
			if !ok {
				return
			}
			if key, ok := ownerKey(pod); ok {
				r.exp.deleted(key, pod.UID)
			}
			enqueue(ctx, pod, q)
		},
	}
}

func (r *Reconciler) orphanPodToSets(ctx context.Context, pod *corev1.Pod) []reconcile.Request {
	var list appsv1.DaemonSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(pod.Namespace)); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		sel, err := metav1.LabelSelectorAsSelector(list.Items[i].Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

func (r *Reconciler) allDaemonSets(ctx context.Context, _ client.Object) []reconcile.Request {
	var list appsv1.DaemonSetList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// nodeChanged passes node events that can change where daemon pods run:
// adds, deletes, and updates to labels, taints, unschedulable or readiness.
func nodeChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Node)
		n, ok2 := e.ObjectNew.(*corev1.Node)
		if !ok1 || !ok2 {
			return true
		}
		return !equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
			!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) ||
			o.Spec.Unschedulable != n.Spec.Unschedulable ||
			nodeReady(o) != nodeReady(n)
	}}
}

func nodeReady(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// Reconcile brings one DaemonSet's pods, revisions and status in line.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	ds := &appsv1.DaemonSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, ds); err != nil {
		if apierrors.IsNotFound(err) {
			r.exp.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		log.Error(err, "Invalid selector")
		return ctrl.Result{}, nil
	}
	if selector.Empty() {
		r.Recorder.Event(ds, corev1.EventTypeWarning, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")
		return ctrl.Result{}, nil
	}
	var nodeList corev1.NodeList
	if err := r.Client.List(ctx, &nodeList); err != nil {
		return ctrl.Result{}, fmt.Errorf("list nodes: %w", err)
	}
	nodes := make([]*corev1.Node, len(nodeList.Items))
	for i := range nodeList.Items {
		nodes[i] = &nodeList.Items[i]
	}
	pods, err := r.claimPods(ctx, ds, selector)
	if err != nil {
		return ctrl.Result{}, err
	}
	if ds.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	s := &syncer{r: r, ds: ds, key: req.NamespacedName, nodes: nodes, pods: pods, now: time.Now()}
	revs, err := history.List(ctx, r.Client, ds, dsKind, selector)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := s.constructHistory(ctx, revs); err != nil {
		return ctrl.Result{}, err
	}
	if r.exp.satisfied(req.NamespacedName) {
		if err := s.manage(ctx); err != nil {
			return ctrl.Result{}, err
		}
		if ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType || ds.Spec.UpdateStrategy.Type == "" {
			if err := s.rollingUpdate(ctx); err != nil {
				return ctrl.Result{}, err
			}
		}
		if err := s.cleanupHistory(ctx); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := s.updateStatus(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
}

// claimPods lists the DaemonSet's pods, adopting orphans matching its
// selector and releasing owned pods that no longer match.
func (r *Reconciler) claimPods(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector) ([]*corev1.Pod, error) {
	var list corev1.PodList
	if err := r.Client.List(ctx, &list, client.InNamespace(ds.Namespace)); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return podcontrol.Claim(ctx, &podcontrol.Claimer{Client: r.Client, Owner: ds, OwnerGVK: dsKind, Selector: selector}, pods)
}
