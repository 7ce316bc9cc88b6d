package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
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
	// ReasonDeletionByTaintManager is the DisruptionTarget reason of pods
	// the taint eviction controller deletes.
	ReasonDeletionByTaintManager = "DeletionByTaintManager"
	messageDeletionByTaint       = "Taint manager: deleting due to NoExecute taint"
	// EventTaintManagerEviction is the event on a pod marked for deletion.
	EventTaintManagerEviction = "TaintManagerEviction"

	evictionNodeIndex = "skiff.tainteviction/spec.nodeName"
)

// TaintEvictionDescriptor is the "taint-eviction-controller".
var TaintEvictionDescriptor = controllers.Descriptor{Name: "taint-eviction-controller", Setup: SetupTaintEviction}

// SetupTaintEviction registers the taint eviction controller.
func SetupTaintEviction(ctx context.Context, c controllers.Context) error {
	if err := c.Manager.GetFieldIndexer().IndexField(ctx, &corev1.Pod{}, evictionNodeIndex, podNodeName); err != nil {
		return fmt.Errorf("taint-eviction-controller: index pods by node: %w", err)
	}
	r := &evictor{
		reader:    c.Manager.GetClient(),
		client:    c.Client,
		recorder:  c.Manager.GetEventRecorderFor("taint-eviction-controller"),
		now:       time.Now,
		marked:    map[types.NamespacedName]types.UID{},
		firstSeen: map[string]time.Time{},
	}
	nodeToPods := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var pods corev1.PodList
		if err := r.reader.List(ctx, &pods, client.MatchingFields{evictionNodeIndex: o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing pods of node failed", "node", o.GetName())
			return nil
		}
		out := make([]reconcile.Request, 0, len(pods.Items))
		for i := range pods.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pods.Items[i])})
		}
		return out
	})
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("taint-eviction-controller").
		For(&corev1.Pod{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			p, ok := o.(*corev1.Pod)
			return ok && p.Spec.NodeName != ""
		}))).
		Watches(&corev1.Node{}, nodeToPods, builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(e event.UpdateEvent) bool {
				o, ok1 := e.ObjectOld.(*corev1.Node)
				n, ok2 := e.ObjectNew.(*corev1.Node)
				return ok1 && ok2 && !equalNoExecute(o.Spec.Taints, n.Spec.Taints)
			},
			DeleteFunc: func(event.DeleteEvent) bool { return false },
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("taint-eviction-controller: %w", err)
	}
	return nil
}

type evictor struct {
	reader   client.Reader
	client   kubernetes.Interface
	recorder record.EventRecorder
	now      func() time.Time

	mu sync.Mutex
	// marked remembers the pods (by name, with their UID) already marked and
	// deleted, so a lagging cache does not repeat their event.
	marked map[types.NamespacedName]types.UID
	// firstSeen is when a NoExecute taint without timeAdded was first seen.
	firstSeen map[string]time.Time
}

// forgetTaints drops first-seen times of taints the node no longer has.
func (r *evictor) forgetTaints(node *corev1.Node) {
	present := map[string]bool{}
	for _, t := range node.Spec.Taints {
		present[node.Name+"/"+t.Key+"="+t.Value] = true
	}
	prefix := node.Name + "/"
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.firstSeen {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix && !present[k] {
			delete(r.firstSeen, k)
		}
	}
}

// taintSince is when taint t was put on node: its timeAdded, else when this
// controller first saw it.
func (r *evictor) taintSince(node string, t *corev1.Taint, now time.Time) time.Time {
	if t.TimeAdded != nil {
		if t.TimeAdded.Nanosecond() == 0 {
			// timeAdded is stored to the second: taken as the end of that
			// second, a toleration never ends early.
			return t.TimeAdded.Add(time.Second)
		}
		return t.TimeAdded.Time
	}
	key := node + "/" + t.Key + "=" + t.Value
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.firstSeen[key]; ok {
		return at
	}
	r.firstSeen[key] = now
	return now
}

func (r *evictor) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pod := &corev1.Pod{}
	if err := r.reader.Get(ctx, req.NamespacedName, pod); err != nil {
		if apierrors.IsNotFound(err) {
			r.mu.Lock()
			delete(r.marked, req.NamespacedName)
			r.mu.Unlock()
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	node := &corev1.Node{}
	if err := r.reader.Get(ctx, types.NamespacedName{Name: pod.Spec.NodeName}, node); err != nil {
		// A missing node's pods are the pod GC's.
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	now := r.now()
	r.forgetTaints(node)
	at, ok := evictionTime(ctrl.LoggerFrom(ctx), pod, node.Spec.Taints, now, func(t *corev1.Taint) time.Time {
		return r.taintSince(node.Name, t, now)
	})
	if !ok {
		return reconcile.Result{}, nil
	}
	if now.Before(at) {
		return reconcile.Result{RequeueAfter: at.Sub(now)}, nil
	}
	return reconcile.Result{}, r.evict(ctx, pod)
}

// evict marks the pod with a DisruptionTarget condition and deletes it.
func (r *evictor) evict(ctx context.Context, pod *corev1.Pod) error {
	name := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	r.mu.Lock()
	done := r.marked[name] == pod.UID
	r.mu.Unlock()
	if done {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	log.Info("Deleting pod for NoExecute taint", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
	r.recorder.Eventf(pod, corev1.EventTypeNormal, EventTaintManagerEviction, "Marking for deletion Pod %s", name.String())
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status": map[string]any{"conditions": []corev1.PodCondition{{
			Type:               corev1.DisruptionTarget,
			Status:             corev1.ConditionTrue,
			ObservedGeneration: pod.Generation,
			Reason:             ReasonDeletionByTaintManager,
			Message:            messageDeletionByTaint,
			LastTransitionTime: metav1.NewTime(r.now()),
		}}},
	})
	if err != nil {
		return err
	}
	if _, err := r.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("mark pod %s disruption target: %w", name, err)
	}
	err = r.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	r.mu.Lock()
	r.marked[name] = pod.UID
	r.mu.Unlock()
	return nil
}

// evictionTime is when a pod on a node with these taints must go: ok=false
// when it may stay (no NoExecute taints, or all tolerated forever), now when
// one is not tolerated, otherwise the earliest end of a tolerationSeconds,
// counted from since(taint) (when it was added) or the pod's creation, if
// later, as upstream counts from when it saw the taint on the pod's node.
func evictionTime(logger klog.Logger, pod *corev1.Pod, taints []corev1.Taint, now time.Time, since func(*corev1.Taint) time.Time) (time.Time, bool) {
	var at time.Time
	found := false
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		var limit *time.Duration
		for j := range pod.Spec.Tolerations {
			tol := &pod.Spec.Tolerations[j]
			if tol.Effect != "" && tol.Effect != corev1.TaintEffectNoExecute {
				continue
			}
			if !tol.ToleratesTaint(logger, t, true) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds == nil {
				continue
			}
			d := time.Duration(*tol.TolerationSeconds) * time.Second
			if d < 0 {
				d = 0
			}
			if limit == nil || d < *limit {
				limit = &d
			}
		}
		if !tolerated {
			return now, true
		}
		if limit == nil {
			continue
		}
		start := since(t)
		if pod.CreationTimestamp.After(start) {
			start = pod.CreationTimestamp.Time
		}
		if end := start.Add(*limit); !found || end.Before(at) {
			at, found = end, true
		}
	}
	return at, found
}

// equalNoExecute reports whether two taint lists have the same NoExecute
// taints.
func equalNoExecute(a, b []corev1.Taint) bool {
	pick := func(ts []corev1.Taint) map[string]string {
		m := map[string]string{}
		for _, t := range ts {
			if t.Effect == corev1.TaintEffectNoExecute {
				added := ""
				if t.TimeAdded != nil {
					added = t.TimeAdded.UTC().String()
				}
				m[t.Key+"="+t.Value] = added
			}
		}
		return m
	}
	x, y := pick(a), pick(b)
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if w, ok := y[k]; !ok || w != v {
			return false
		}
	}
	return true
}
