package nodelifecycle

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func nodeWith(conds ...corev1.NodeCondition) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Status:     corev1.NodeStatus{Conditions: conds},
	}
}

func cond(t corev1.NodeConditionType, s corev1.ConditionStatus) corev1.NodeCondition {
	return corev1.NodeCondition{Type: t, Status: s, Reason: "Kubelet", LastHeartbeatTime: metav1.NewTime(t0.Add(-time.Minute))}
}

func TestMarkUnknown(t *testing.T) {
	tests := []struct {
		name        string
		node        *corev1.Node
		wantChanged bool
		wantReasons map[corev1.NodeConditionType]string
	}{{
		name:        "ready node goes unknown, missing conditions never updated",
		node:        nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeMemoryPressure, corev1.ConditionFalse)),
		wantChanged: true,
		wantReasons: map[corev1.NodeConditionType]string{
			corev1.NodeReady:          ReasonNodeStatusUnknown,
			corev1.NodeMemoryPressure: ReasonNodeStatusUnknown,
			corev1.NodeDiskPressure:   ReasonNodeStatusNeverUpdated,
			corev1.NodePIDPressure:    ReasonNodeStatusNeverUpdated,
		},
	}, {
		name:        "no conditions at all",
		node:        nodeWith(),
		wantChanged: true,
		wantReasons: map[corev1.NodeConditionType]string{
			corev1.NodeReady:          ReasonNodeStatusNeverUpdated,
			corev1.NodeMemoryPressure: ReasonNodeStatusNeverUpdated,
			corev1.NodeDiskPressure:   ReasonNodeStatusNeverUpdated,
			corev1.NodePIDPressure:    ReasonNodeStatusNeverUpdated,
		},
	}, {
		name: "already unknown: unchanged",
		node: func() *corev1.Node {
			n := nodeWith()
			markUnknown(n, t0.Add(-time.Minute))
			return n
		}(),
		wantChanged: false,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.node.DeepCopy()
			if got := markUnknown(tc.node, t0); got != tc.wantChanged {
				t.Fatalf("changed = %v, want %v", got, tc.wantChanged)
			}
			for typ, reason := range tc.wantReasons {
				c := nodeCondition(&tc.node.Status, typ)
				if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != reason {
					t.Errorf("%s = %+v, want Unknown/%s", typ, c, reason)
					continue
				}
				if !c.LastTransitionTime.Time.Equal(t0) {
					t.Errorf("%s lastTransitionTime = %s, want %s", typ, c.LastTransitionTime, t0)
				}
				if old := nodeCondition(&before.Status, typ); old != nil && !c.LastHeartbeatTime.Equal(&old.LastHeartbeatTime) {
					t.Errorf("%s heartbeat changed from %s to %s", typ, old.LastHeartbeatTime, c.LastHeartbeatTime)
				}
				if reason == ReasonNodeStatusUnknown && c.Message != MessageNodeStatusUnknown {
					t.Errorf("%s message = %q", typ, c.Message)
				}
			}
		})
	}
}

func TestObserve(t *testing.T) {
	n := nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue))
	renew := leaseTime{renew: t0.Add(-30 * time.Second)}
	first := observe(nil, n, renew, t0)
	if !first.probe.Equal(t0) {
		t.Fatalf("first probe = %s, want now", first.probe)
	}
	tests := []struct {
		name      string
		node      *corev1.Node
		lease     leaseTime
		wantProbe time.Time
	}{
		{"nothing moved", n, renew, t0},
		{"lease renewed", n, leaseTime{renew: t0.Add(-10 * time.Second)}, t0.Add(5 * time.Second)},
		{"lease older (skewed writer)", n, leaseTime{renew: t0.Add(-time.Hour)}, t0},
		{"ready heartbeat moved", func() *corev1.Node {
			m := n.DeepCopy()
			m.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0)
			return m
		}(), renew, t0.Add(5 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := observe(&first, tc.node, tc.lease, t0.Add(5*time.Second))
			if !got.probe.Equal(tc.wantProbe) {
				t.Errorf("probe = %s, want %s", got.probe, tc.wantProbe)
			}
		})
	}
}

func taintKeys(ts []corev1.Taint) []string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s:%s", t.Key, t.Effect))
	}
	return out
}

func TestSyncTaints(t *testing.T) {
	added := metav1.NewTime(t0.Add(-time.Minute))
	custom := corev1.Taint{Key: "example.com/x", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name        string
		node        *corev1.Node
		taints      []corev1.Taint
		limitNE     bool // NoExecute held back (no token)
		wantKeys    []string
		wantChanged bool
	}{{
		name:        "ready node loses admission's not-ready taint, keeps others",
		node:        nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue)),
		taints:      []corev1.Taint{custom, {Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}},
		wantKeys:    []string{"example.com/x:NoSchedule"},
		wantChanged: true,
	}, {
		name:        "unknown node tainted unreachable both ways",
		node:        nodeWith(cond(corev1.NodeReady, corev1.ConditionUnknown)),
		wantKeys:    []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"},
		wantChanged: true,
	}, {
		name:        "not ready swaps unreachable for not-ready",
		node:        nodeWith(cond(corev1.NodeReady, corev1.ConditionFalse)),
		taints:      []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}, {Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}},
		wantKeys:    []string{"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"},
		wantChanged: true,
	}, {
		name: "pressure, network and unschedulable",
		node: func() *corev1.Node {
			n := nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeMemoryPressure, corev1.ConditionTrue), cond(corev1.NodeDiskPressure, corev1.ConditionFalse), cond(corev1.NodePIDPressure, corev1.ConditionTrue), cond(corev1.NodeNetworkUnavailable, corev1.ConditionTrue))
			n.Spec.Unschedulable = true
			return n
		}(),
		wantKeys:    []string{"node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/network-unavailable:NoSchedule", "node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"},
		wantChanged: true,
	}, {
		name:        "already right: unchanged",
		node:        nodeWith(cond(corev1.NodeReady, corev1.ConditionUnknown)),
		taints:      []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}, {Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}},
		wantKeys:    []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"},
		wantChanged: false,
	}, {
		name:        "rate limited: NoSchedule now, NoExecute later",
		node:        nodeWith(cond(corev1.NodeReady, corev1.ConditionUnknown)),
		limitNE:     true,
		wantKeys:    []string{"node.kubernetes.io/unreachable:NoSchedule"},
		wantChanged: true,
	}, {
		name:        "no Ready condition yet: no NoExecute",
		node:        nodeWith(),
		taints:      []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}},
		wantKeys:    nil,
		wantChanged: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ne := wantNoExecute(tc.node)
			if tc.limitNE {
				ne = ""
			}
			out, changed := syncTaints(tc.taints, wantNoSchedule(tc.node), ne, t0)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if got := taintKeys(out); fmt.Sprint(got) != fmt.Sprint(tc.wantKeys) {
				t.Errorf("taints = %v, want %v", got, tc.wantKeys)
			}
			for _, taint := range out {
				if taint.Effect == corev1.TaintEffectNoExecute && taint.TimeAdded == nil {
					t.Errorf("NoExecute taint %s without timeAdded", taint.Key)
				}
			}
		})
	}
}

func TestZoneStates(t *testing.T) {
	mk := func(zone string, s corev1.ConditionStatus, excluded bool) corev1.Node {
		n := nodeWith(cond(corev1.NodeReady, s))
		n.Labels = map[string]string{corev1.LabelTopologyZone: zone}
		if excluded {
			n.Labels[labelExcludeDisruption] = ""
		}
		return *n
	}
	tests := []struct {
		name      string
		nodes     []corev1.Node
		wantState map[string]zoneState
		wantAll   bool
	}{
		{"empty", nil, map[string]zoneState{}, false},
		{"normal and full", []corev1.Node{mk("a", corev1.ConditionTrue, false), mk("a", corev1.ConditionFalse, false), mk("b", corev1.ConditionUnknown, false)},
			map[string]zoneState{":\x00:a": zoneNormal, ":\x00:b": zoneFullDisruption}, false},
		{"all down", []corev1.Node{mk("a", corev1.ConditionFalse, false), mk("b", corev1.ConditionUnknown, false), mk("b", corev1.ConditionTrue, true)},
			map[string]zoneState{":\x00:a": zoneFullDisruption, ":\x00:b": zoneFullDisruption}, true},
		{"partial", []corev1.Node{mk("a", corev1.ConditionTrue, false), mk("a", corev1.ConditionFalse, false), mk("a", corev1.ConditionFalse, false), mk("a", corev1.ConditionFalse, false)},
			map[string]zoneState{":\x00:a": zonePartialDisruption}, false},
		{"two of three down is not partial (needs more than two)", []corev1.Node{mk("a", corev1.ConditionTrue, false), mk("a", corev1.ConditionFalse, false), mk("a", corev1.ConditionFalse, false)},
			map[string]zoneState{":\x00:a": zoneNormal}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones := zoneStates(tc.nodes)
			got := map[string]zoneState{}
			for k, z := range zones {
				got[k] = z.state()
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantState) {
				t.Errorf("states = %q, want %q", got, tc.wantState)
			}
			if all := allFullyDisrupted(zones); all != tc.wantAll {
				t.Errorf("all fully disrupted = %v, want %v", all, tc.wantAll)
			}
		})
	}
}

func TestZoneQPS(t *testing.T) {
	tests := []struct {
		state zoneState
		size  int
		want  float64
	}{
		{zoneNormal, 3, 0.1},
		{zoneFullDisruption, 3, 0.1},
		{zonePartialDisruption, 10, 0},
		{zonePartialDisruption, 51, 0.01},
	}
	for _, tc := range tests {
		if got := zoneQPS(tc.state, tc.size); got != tc.want {
			t.Errorf("zoneQPS(%s, %d) = %v, want %v", tc.state, tc.size, got, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	var l limiters
	steps := []struct {
		at       time.Duration
		zone     string
		qps      float64
		wantOK   bool
		wantWait time.Duration
	}{
		{0, "a", 0.1, true, 0},
		{time.Second, "a", 0.1, false, 9 * time.Second},
		{0, "b", 0.1, true, 0}, // zones are independent
		{10 * time.Second, "a", 0.1, true, 0},
		{11 * time.Second, "a", 0, false, 0}, // stopped zone: never
		{0, "c", 0, false, 0},                // stopped from the start
	}
	for i, s := range steps {
		ok, wait := l.take(s.zone, s.qps, t0.Add(s.at))
		if ok != s.wantOK || (wait-s.wantWait).Abs() > time.Millisecond {
			t.Errorf("step %d: take = %v, %s; want %v, %s", i, ok, wait, s.wantOK, s.wantWait)
		}
	}
}

func TestLimiterRefund(t *testing.T) {
	var l limiters
	if ok, _ := l.take("a", 0.1, t0); !ok {
		t.Fatal("first take failed")
	}
	l.refund("a")
	if ok, _ := l.take("a", 0.1, t0); !ok {
		t.Fatal("refunded token not available")
	}
	if ok, _ := l.take("a", 0.1, t0); ok {
		t.Fatal("refund gave more than one token")
	}
}

func TestEvictionTime(t *testing.T) {
	added := metav1.NewTime(t0.Add(-10 * time.Second))
	taint := func(key string) corev1.Taint {
		return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	}
	tol := func(key string, secs *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}
	}
	since := func(t *corev1.Taint) time.Time { return t.TimeAdded.Time }
	tests := []struct {
		name     string
		taints   []corev1.Taint
		tols     []corev1.Toleration
		created  time.Time
		wantOK   bool
		wantTime time.Time
	}{
		{"no taints", nil, nil, t0.Add(-time.Hour), false, time.Time{}},
		{"NoSchedule only", []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}}, nil, t0.Add(-time.Hour), false, time.Time{}},
		{"not tolerated: now", []corev1.Taint{taint("a")}, nil, t0.Add(-time.Hour), true, t0},
		{"one of two not tolerated: now", []corev1.Taint{taint("a"), taint("b")}, []corev1.Toleration{tol("a", nil)}, t0.Add(-time.Hour), true, t0},
		{"tolerated forever", []corev1.Taint{taint("a")}, []corev1.Toleration{tol("a", nil)}, t0.Add(-time.Hour), false, time.Time{}},
		{"tolerated 30s from the taint", []corev1.Taint{taint("a")}, []corev1.Toleration{tol("a", ptr.To[int64](30))}, t0.Add(-time.Hour), true, added.Add(30 * time.Second)},
		{"shortest of several", []corev1.Taint{taint("a"), taint("b")}, []corev1.Toleration{tol("a", ptr.To[int64](30)), tol("b", ptr.To[int64](5)), tol("", ptr.To[int64](60))}, t0.Add(-time.Hour), true, added.Add(5 * time.Second)},
		{"pod newer than the taint counts from its creation", []corev1.Taint{taint("a")}, []corev1.Toleration{tol("a", ptr.To[int64](30))}, t0, true, t0.Add(30 * time.Second)},
		{"negative seconds: now", []corev1.Taint{taint("a")}, []corev1.Toleration{tol("a", ptr.To[int64](-5))}, t0.Add(-time.Hour), true, added.Time},
		{"NoSchedule toleration does not tolerate", []corev1.Taint{taint("a")}, []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, t0.Add(-time.Hour), true, t0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(tc.created)}, Spec: corev1.PodSpec{Tolerations: tc.tols}}
			at, ok := evictionTime(klog.Background(), pod, tc.taints, t0, since)
			if ok != tc.wantOK || (ok && !at.Equal(tc.wantTime)) {
				t.Errorf("evictionTime = %s, %v; want %s, %v", at, ok, tc.wantTime, tc.wantOK)
			}
		})
	}
}

func TestEqualNoExecute(t *testing.T) {
	a := []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoExecute}, {Key: "y", Effect: corev1.TaintEffectNoSchedule}}
	b := []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoExecute}}
	c := []corev1.Taint{{Key: "z", Effect: corev1.TaintEffectNoExecute}}
	if !equalNoExecute(a, b) {
		t.Error("NoSchedule differences must not count")
	}
	if equalNoExecute(a, c) || equalNoExecute(nil, c) {
		t.Error("different NoExecute taints reported equal")
	}
}
