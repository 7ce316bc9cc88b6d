package nodelifecycle

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/node/topology"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// NodeLeaseNamespace holds the kubelets' heartbeat Leases.
	NodeLeaseNamespace = "kube-node-lease"
	// DefaultNodeMonitorGracePeriod is --node-monitor-grace-period's default.
	DefaultNodeMonitorGracePeriod = 50 * time.Second
	// DefaultNodeStartupGracePeriod is --node-startup-grace-period's default:
	// how long a node may go without ever posting status.
	DefaultNodeStartupGracePeriod = 60 * time.Second

	// EventNodeNotReady is the node and pod event of a node leaving Ready.
	EventNodeNotReady = "NodeNotReady"

	// nodeNameIndex indexes pods by spec.nodeName in the shared cache; the
	// name is this package's own so it cannot clash with other controllers'.
	nodeNameIndex = "skiff.nodelifecycle/spec.nodeName"
)

// Descriptor is the "nodelifecycle" controller.
var Descriptor = controllers.Descriptor{Name: "nodelifecycle", Setup: Setup}

// Setup registers the node lifecycle controller.
func Setup(ctx context.Context, c controllers.Context) error {
	grace := c.Options.NodeMonitorGracePeriod
	if grace <= 0 {
		grace = DefaultNodeMonitorGracePeriod
	}
	startup := DefaultNodeStartupGracePeriod
	if grace > startup {
		startup = grace
	}
	if err := c.Manager.GetFieldIndexer().IndexField(ctx, &corev1.Pod{}, nodeNameIndex, podNodeName); err != nil {
		return fmt.Errorf("nodelifecycle: index pods by node: %w", err)
	}
	r := &lifecycle{
		client:   c.Manager.GetClient(),
		recorder: c.Manager.GetEventRecorderFor("node-controller"),
		grace:    grace,
		startup:  startup,
		now:      time.Now,
		seen:     map[string]*heartbeat{},
	}
	leaseToNode := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if o.GetNamespace() != NodeLeaseNamespace {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetName()}}}
	})
	podToNode := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		p, ok := o.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" || !podReady(p) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: p.Spec.NodeName}}}
	})
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("nodelifecycle").
		For(&corev1.Node{}).
		Watches(&coordinationv1.Lease{}, leaseToNode).
		Watches(&corev1.Pod{}, podToNode, builder.WithPredicates(predicate.Funcs{
			DeleteFunc: func(event.DeleteEvent) bool { return false },
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	return nil
}

func podNodeName(o client.Object) []string {
	p := o.(*corev1.Pod)
	if p.Spec.NodeName == "" {
		return nil
	}
	return []string{p.Spec.NodeName}
}

type lifecycle struct {
	client   client.Client
	recorder record.EventRecorder
	grace    time.Duration
	startup  time.Duration
	now      func() time.Time
	limiters limiters

	mu   sync.Mutex
	seen map[string]*heartbeat
}

func (r *lifecycle) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	node := &corev1.Node{}
	if err := r.client.Get(ctx, req.NamespacedName, node); err != nil {
		if apierrors.IsNotFound(err) {
			r.mu.Lock()
			delete(r.seen, req.Name)
			r.mu.Unlock()
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get node %s: %w", req.Name, err)
	}
	var lt leaseTime
	lease := &coordinationv1.Lease{}
	switch err := r.client.Get(ctx, types.NamespacedName{Namespace: NodeLeaseNamespace, Name: node.Name}, lease); {
	case err == nil:
		if lease.Spec.RenewTime != nil {
			lt.renew = lease.Spec.RenewTime.Time
		}
	case !apierrors.IsNotFound(err):
		return reconcile.Result{}, fmt.Errorf("get lease of node %s: %w", node.Name, err)
	}

	now := r.now()
	r.mu.Lock()
	h := observe(r.seen[node.Name], node, lt, now)
	prevReady := h.ready
	r.mu.Unlock()

	grace := r.grace
	if nodeCondition(&node.Status, corev1.NodeReady) == nil {
		grace = r.startup
	}
	var requeue time.Duration
	if deadline := h.probe.Add(grace); now.After(deadline) {
		updated := node.DeepCopy()
		if markUnknown(updated, now) {
			log.Info("Node stopped posting status, marking its conditions Unknown", "node", node.Name, "gracePeriod", grace)
			if err := r.client.Status().Update(ctx, updated); err != nil {
				return reconcile.Result{}, fmt.Errorf("mark node %s conditions unknown: %w", node.Name, err)
			}
			node = updated
		}
	} else {
		requeue = deadline.Sub(now) + 100*time.Millisecond
	}

	ready := readyStatus(node)
	if prevReady == corev1.ConditionTrue && ready != corev1.ConditionTrue {
		r.recorder.Eventf(node, corev1.EventTypeNormal, EventNodeNotReady, "Node %s status is now: %s", node.Name, EventNodeNotReady)
	}
	h.ready = ready
	r.mu.Lock()
	r.seen[node.Name] = &h
	r.mu.Unlock()

	if ready != corev1.ConditionTrue {
		if err := r.markPodsNotReady(ctx, node); err != nil {
			return reconcile.Result{}, err
		}
	}
	wait, err := r.syncTaints(ctx, node, now)
	if err != nil {
		return reconcile.Result{}, err
	}
	if wait > 0 && (requeue == 0 || wait < requeue) {
		requeue = wait
	}
	return reconcile.Result{RequeueAfter: requeue}, nil
}

// syncTaints brings the node's condition taints in line with its
// conditions. Adding a NoExecute taint takes a token of the node's zone; it
// returns how long to wait when none is there yet.
func (r *lifecycle) syncTaints(ctx context.Context, node *corev1.Node, now time.Time) (time.Duration, error) {
	wantNE, wait, tookToken, err := r.noExecuteTaint(ctx, node, now)
	if err != nil {
		return 0, err
	}
	taints, changed := syncTaints(node.Spec.Taints, wantNoSchedule(node), wantNE, now)
	if !changed {
		return wait, nil
	}
	patched := node.DeepCopy()
	patched.Spec.Taints = taints
	if err := r.client.Patch(ctx, patched, client.MergeFromWithOptions(node, client.MergeFromWithOptimisticLock{})); err != nil {
		if tookToken {
			// The taint did not go on: the next attempt may have its turn.
			r.limiters.refund(topology.GetZoneKey(node))
		}
		return 0, fmt.Errorf("update taints of node %s: %w", node.Name, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Updated node taints", "node", node.Name, "taints", taints)
	return wait, nil
}

// noExecuteTaint decides the node's NoExecute not-ready/unreachable taint:
// none when Ready, none on every node when every zone is fully disrupted
// (upstream's master disruption mode), a swap at once when the node has the
// other one, and a new taint only with a token of its zone's limiter
// (otherwise none yet, and how long to wait).
func (r *lifecycle) noExecuteTaint(ctx context.Context, node *corev1.Node, now time.Time) (key string, wait time.Duration, tookToken bool, err error) {
	want := wantNoExecute(node)
	if want == "" {
		return "", 0, false, nil
	}
	var nodes corev1.NodeList
	if err := r.client.List(ctx, &nodes); err != nil {
		return "", 0, false, fmt.Errorf("list nodes: %w", err)
	}
	zones := zoneStates(nodes.Items)
	if allFullyDisrupted(zones) {
		ctrl.LoggerFrom(ctx).V(2).Info("Every zone is fully disrupted, holding back NoExecute taints", "node", node.Name)
		return "", r.grace, false, nil
	}
	if currentNoExecute(node.Spec.Taints) != "" {
		return want, 0, false, nil
	}
	zone := topology.GetZoneKey(node)
	z := zones[zone]
	ok, wait := r.limiters.take(zone, zoneQPS(z.state(), z.ready+z.notReady), now)
	if !ok {
		if wait == 0 {
			wait = r.grace
		}
		ctrl.LoggerFrom(ctx).V(2).Info("Zone eviction rate reached, NoExecute taint waits", "node", node.Name, "zone", zone, "state", z.state(), "wait", wait)
		return "", wait, false, nil
	}
	return want, 0, true, nil
}

// markPodsNotReady sets Ready=False on the node's pods, as upstream's
// MarkPodsNotReady.
func (r *lifecycle) markPodsNotReady(ctx context.Context, node *corev1.Node) error {
	var pods corev1.PodList
	if err := r.client.List(ctx, &pods, client.MatchingFields{nodeNameIndex: node.Name}); err != nil {
		return fmt.Errorf("list pods of node %s: %w", node.Name, err)
	}
	var errs []error
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName != node.Name || !podReady(p) {
			continue
		}
		updated := p.DeepCopy()
		for j := range updated.Status.Conditions {
			c := &updated.Status.Conditions[j]
			if c.Type == corev1.PodReady {
				c.Status = corev1.ConditionFalse
				c.LastTransitionTime = metav1.NewTime(r.now())
			}
		}
		ctrl.LoggerFrom(ctx).V(2).Info("Marking pod not ready", "pod", klogObj(p), "node", node.Name)
		if err := r.client.Status().Update(ctx, updated); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err))
			}
			continue
		}
		r.recorder.Event(p, corev1.EventTypeWarning, EventNodeNotReady, "Node is not ready")
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status != corev1.ConditionFalse
		}
	}
	return false
}

func klogObj(o client.Object) string { return o.GetNamespace() + "/" + o.GetName() }
