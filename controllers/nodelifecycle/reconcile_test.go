package nodelifecycle

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func zoned(name, zone string, ready corev1.ConditionStatus) *corev1.Node {
	n := nodeWith(cond(corev1.NodeReady, ready))
	n.Name = name
	n.Labels = map[string]string{corev1.LabelTopologyZone: zone}
	return n
}

func readyPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func newLifecycle(objs ...client.Object) (*lifecycle, client.Client, *clock, *record.FakeRecorder) {
	c := ctrlfake.NewClientBuilder().
		WithObjects(objs...).
		WithStatusSubresource(&corev1.Node{}, &corev1.Pod{}).
		WithIndex(&corev1.Pod{}, nodeNameIndex, podNodeName).
		Build()
	clk := &clock{t: t0}
	rec := record.NewFakeRecorder(100)
	return &lifecycle{client: c, recorder: rec, grace: 40 * time.Second, startup: time.Minute, now: clk.now, seen: map[string]*heartbeat{}}, c, clk, rec
}

func reconcileNode(t *testing.T, r *lifecycle, name string) reconcile.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
	if err != nil {
		t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

func drain(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// TestLifecycleReconcile walks a node through silence and back with a fake
// clock: nothing happens within the grace period, then conditions go
// Unknown, taints appear, pods turn not ready and the node gets an event;
// a lease renewal alone does not clear Unknown (the kubelet must post
// status), a Ready status does.
func TestLifecycleReconcile(t *testing.T) {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Namespace: NodeLeaseNamespace},
		Spec:       coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: t0}},
	}
	r, c, clk, rec := newLifecycle(zoned("n1", "z", corev1.ConditionTrue), zoned("n2", "z", corev1.ConditionTrue), lease, readyPod("p", "n1"), readyPod("other", "n2"))
	ctx := context.Background()

	res := reconcileNode(t, r, "n1")
	if res.RequeueAfter <= 0 || res.RequeueAfter > 41*time.Second {
		t.Fatalf("healthy node requeued after %s, want about the grace period", res.RequeueAfter)
	}
	clk.t = t0.Add(30 * time.Second)
	reconcileNode(t, r, "n1")
	if n := getNode(t, c, "n1"); readyStatus(n) != corev1.ConditionTrue {
		t.Fatal("node marked before its grace period")
	}

	clk.t = t0.Add(41 * time.Second)
	reconcileNode(t, r, "n1")
	n := getNode(t, c, "n1")
	if ready := nodeCondition(&n.Status, corev1.NodeReady); ready.Status != corev1.ConditionUnknown || ready.Reason != ReasonNodeStatusUnknown {
		t.Fatalf("Ready = %+v", ready)
	}
	if got := taintKeys(n.Spec.Taints); fmt.Sprint(got) != "[node.kubernetes.io/unreachable:NoSchedule node.kubernetes.io/unreachable:NoExecute]" {
		t.Fatalf("taints = %v", got)
	}
	var p corev1.Pod
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "p"}, &p); err != nil {
		t.Fatal(err)
	}
	if podReady(&p) {
		t.Error("pod on the silent node still ready")
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "other"}, &p); err != nil {
		t.Fatal(err)
	}
	if !podReady(&p) {
		t.Error("pod on another node marked not ready")
	}
	events := strings.Join(drain(rec), "\n")
	if !strings.Contains(events, "Normal NodeNotReady Node n1 status is now: NodeNotReady") || !strings.Contains(events, "Warning NodeNotReady Node is not ready") {
		t.Errorf("events = %s", events)
	}

	// Lease renewed, status still Unknown: taints stay.
	clk.t = t0.Add(45 * time.Second)
	lease.Spec.RenewTime = &metav1.MicroTime{Time: clk.t}
	if err := c.Get(ctx, client.ObjectKeyFromObject(lease), lease); err != nil {
		t.Fatal(err)
	}
	lease.Spec.RenewTime = &metav1.MicroTime{Time: clk.t}
	if err := c.Update(ctx, lease); err != nil {
		t.Fatal(err)
	}
	reconcileNode(t, r, "n1")
	if n := getNode(t, c, "n1"); len(n.Spec.Taints) != 2 {
		t.Fatalf("taints after lease renewal = %v", taintKeys(n.Spec.Taints))
	}

	// The kubelet posts Ready.
	n = getNode(t, c, "n1")
	ready := nodeCondition(&n.Status, corev1.NodeReady)
	ready.Status, ready.Reason, ready.LastHeartbeatTime = corev1.ConditionTrue, "KubeletReady", metav1.NewTime(clk.t)
	if err := c.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	reconcileNode(t, r, "n1")
	if n := getNode(t, c, "n1"); len(n.Spec.Taints) != 0 {
		t.Fatalf("taints after recovery = %v", taintKeys(n.Spec.Taints))
	}
}

// TestLifecycleZoneLimits: NoExecute taints are rate limited per zone and
// held back entirely when every zone is down.
func TestLifecycleZoneLimits(t *testing.T) {
	tests := []struct {
		name        string
		nodes       []*corev1.Node
		reconcile   []string
		wantNoExec  map[string]bool
		wantRequeue bool
	}{{
		name:       "one token per zone: second node of the zone waits",
		nodes:      []*corev1.Node{zoned("a1", "a", corev1.ConditionFalse), zoned("a2", "a", corev1.ConditionFalse), zoned("a3", "a", corev1.ConditionTrue), zoned("b1", "b", corev1.ConditionFalse), zoned("b2", "b", corev1.ConditionTrue)},
		reconcile:  []string{"a1", "a2", "b1"},
		wantNoExec: map[string]bool{"a1": true, "a2": false, "b1": true},
	}, {
		name:       "every zone fully disrupted: no NoExecute taints",
		nodes:      []*corev1.Node{zoned("a1", "a", corev1.ConditionFalse), zoned("b1", "b", corev1.ConditionUnknown)},
		reconcile:  []string{"a1", "b1"},
		wantNoExec: map[string]bool{"a1": false, "b1": false},
	}, {
		name:       "partially disrupted small zone: stopped",
		nodes:      []*corev1.Node{zoned("a1", "a", corev1.ConditionFalse), zoned("a2", "a", corev1.ConditionFalse), zoned("a3", "a", corev1.ConditionFalse), zoned("a4", "a", corev1.ConditionTrue), zoned("b1", "b", corev1.ConditionTrue)},
		reconcile:  []string{"a1"},
		wantNoExec: map[string]bool{"a1": false},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []client.Object
			for _, n := range tc.nodes {
				objs = append(objs, n)
			}
			r, c, _, _ := newLifecycle(objs...)
			for _, name := range tc.reconcile {
				reconcileNode(t, r, name)
			}
			for name, want := range tc.wantNoExec {
				n := getNode(t, c, name)
				if got := currentNoExecute(n.Spec.Taints) != ""; got != want {
					t.Errorf("node %s NoExecute taint = %v, want %v (taints %v)", name, got, want, taintKeys(n.Spec.Taints))
				}
				if nodeTaint := wantNoSchedule(n); len(nodeTaint) == 0 {
					t.Errorf("node %s: no NoSchedule taint wanted", name)
				}
			}
		})
	}
}

func getNode(t *testing.T, c client.Client, name string) *corev1.Node {
	t.Helper()
	n := &corev1.Node{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEvict: a pod is patched with DisruptionTarget, gets one event and is
// deleted; a second pass for the same pod does nothing.
func TestEvict(t *testing.T) {
	pod := readyPod("p", "n")
	pod.UID = "uid-1"
	node := zoned("n", "z", corev1.ConditionTrue)
	node.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute, TimeAdded: ptr.To(metav1.NewTime(t0))}}
	cs := fake.NewSimpleClientset(pod.DeepCopy())
	reader := ctrlfake.NewClientBuilder().WithObjects(pod.DeepCopy(), node).Build()
	rec := record.NewFakeRecorder(10)
	r := &evictor{reader: reader, client: cs, recorder: rec, now: func() time.Time { return t0 }, marked: map[types.NamespacedName]types.UID{}, firstSeen: map[string]time.Time{}}
	for i := 0; i < 2; i++ {
		if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "p"}}); err != nil {
			t.Fatal(err)
		}
	}
	var verbs []string
	for _, a := range cs.Actions() {
		verbs = append(verbs, a.GetVerb()+":"+a.GetSubresource())
	}
	if fmt.Sprint(verbs) != "[patch:status delete:]" {
		t.Errorf("actions = %v, want one status patch and one delete", verbs)
	}
	if ev := drain(rec); len(ev) != 1 || ev[0] != "Normal TaintManagerEviction Marking for deletion Pod ns/p" {
		t.Errorf("events = %q", ev)
	}
}
