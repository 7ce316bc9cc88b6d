package podgc

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0)}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func on(node string) podOpt           { return func(p *corev1.Pod) { p.Spec.NodeName = node } }
func age(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(-d)) }
}
func evicted(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Status.Reason = "Evicted" }
func terminating(p *corev1.Pod) {
	ts := metav1.NewTime(t0)
	p.DeletionTimestamp = &ts
}

func node(name string, ready bool, taints ...string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	s := corev1.ConditionFalse
	if ready {
		s = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: s}}
	for _, k := range taints {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: k, Effect: corev1.TaintEffectNoExecute})
	}
	return n
}

func names(ds []deletion) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.pod.Name+"/"+d.why)
	}
	sort.Strings(out)
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		pods      []corev1.Pod
		nodes     []corev1.Node
		// liveNodes exist on the API server though missing from the cache.
		liveNodes []string
		// missingSince marks nodes already quarantined that long ago.
		missingSince map[string]time.Duration
		want         []string
	}{{
		name:      "under threshold keeps terminated pods",
		threshold: 2,
		pods:      []corev1.Pod{pod("a", phase(corev1.PodSucceeded)), pod("b", phase(corev1.PodFailed)), pod("c", phase(corev1.PodRunning))},
		want:      nil,
	}, {
		name:      "over threshold: evicted first, then oldest, then by name",
		threshold: 2,
		pods: []corev1.Pod{
			pod("young", phase(corev1.PodSucceeded), age(time.Minute)),
			pod("old", phase(corev1.PodSucceeded), age(time.Hour)),
			pod("evicted", evicted, age(time.Second)),
			pod("tie-b", phase(corev1.PodFailed), age(time.Hour)),
			pod("running", phase(corev1.PodRunning), age(10*time.Hour)),
		},
		want: []string{"evicted/terminated pods over threshold", "old/terminated pods over threshold"},
	}, {
		name:         "orphan of a node missing past quarantine",
		threshold:    100,
		pods:         []corev1.Pod{pod("orphan", on("gone"), phase(corev1.PodRunning)), pod("fine", on("here"))},
		nodes:        []corev1.Node{node("here", true)},
		missingSince: map[string]time.Duration{"gone": time.Minute},
		want:         []string{"orphan/orphaned"},
	}, {
		name:      "orphan still in quarantine",
		threshold: 100,
		pods:      []corev1.Pod{pod("orphan", on("gone"))},
		want:      nil,
	}, {
		name:         "node missing from the cache but live on the server",
		threshold:    100,
		pods:         []corev1.Pod{pod("p", on("lagging"))},
		liveNodes:    []string{"lagging"},
		missingSince: map[string]time.Duration{"lagging": time.Minute},
		want:         nil,
	}, {
		name:      "unscheduled terminating",
		threshold: 100,
		pods:      []corev1.Pod{pod("stuck", terminating), pod("bound", terminating, on("here"))},
		nodes:     []corev1.Node{node("here", true)},
		want:      []string{"stuck/unscheduled terminating"},
	}, {
		name:      "terminating on a not-ready out-of-service node",
		threshold: 100,
		pods:      []corev1.Pod{pod("oos", terminating, on("down")), pod("ready-oos", terminating, on("up")), pod("plain-down", terminating, on("down2"))},
		nodes:     []corev1.Node{node("down", false, corev1.TaintNodeOutOfService), node("up", true, corev1.TaintNodeOutOfService), node("down2", false)},
		want:      []string{"oos/terminating on out-of-service node"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			for _, n := range tc.liveNodes {
				objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}})
			}
			g := &collector{
				client:    fake.NewSimpleClientset(objs...),
				cfg:       Config{Quarantine: DefaultQuarantine},
				threshold: tc.threshold,
				now:       func() time.Time { return t0 },
				missing:   map[string]time.Time{},
			}
			for n, ago := range tc.missingSince {
				g.missing[n] = t0.Add(-ago)
			}
			got := names(g.plan(context.Background(), tc.pods, tc.nodes))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("plan = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOrphanCondition(t *testing.T) {
	g := &collector{client: fake.NewSimpleClientset(), cfg: Config{Quarantine: time.Second}, threshold: 10,
		now: func() time.Time { return t0 }, missing: map[string]time.Time{"gone": t0.Add(-time.Minute)}}
	ds := g.plan(context.Background(), []corev1.Pod{pod("o", on("gone"))}, nil)
	if len(ds) != 1 || ds[0].condition == nil {
		t.Fatalf("plan = %+v", ds)
	}
	c := ds[0].condition
	if c.Type != corev1.DisruptionTarget || c.Status != corev1.ConditionTrue || c.Reason != ReasonDeletionByPodGC || c.Message != "PodGC: node no longer exists" {
		t.Errorf("condition = %+v", c)
	}
}

func TestQuarantineForgetsReturningNodes(t *testing.T) {
	g := &collector{client: fake.NewSimpleClientset(), cfg: Config{Quarantine: time.Second}, threshold: 10,
		now: func() time.Time { return t0 }, missing: map[string]time.Time{"back": t0.Add(-time.Minute)}}
	g.plan(context.Background(), []corev1.Pod{pod("p", on("back"))}, []corev1.Node{node("back", true)})
	if _, ok := g.missing["back"]; ok {
		t.Error("node that came back is still quarantined")
	}
	g.plan(context.Background(), []corev1.Pod{pod("p", on("new"))}, nil)
	if since, ok := g.missing["new"]; !ok || !since.Equal(t0) {
		t.Errorf("missing node quarantined since %v, %v; want now", since, ok)
	}
}

func TestMarkFailedAndDelete(t *testing.T) {
	tests := []struct {
		name        string
		pod         corev1.Pod
		wantActions []string
	}{
		{"running pod is failed first", pod("r", phase(corev1.PodRunning)), []string{"patch:status", "delete:"}},
		{"terminated pod is only deleted", pod("s", phase(corev1.PodSucceeded)), []string{"delete:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pod
			cs := fake.NewSimpleClientset(&p)
			g := &collector{client: cs, now: func() time.Time { return t0 }}
			cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonDeletionByPodGC}
			if err := g.markFailedAndDelete(context.Background(), &p, cond); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range cs.Actions() {
				got = append(got, a.GetVerb()+":"+a.GetSubresource())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantActions) {
				t.Errorf("actions = %v, want %v", got, tc.wantActions)
			}
			for _, a := range cs.Actions() {
				if d, ok := a.(interface{ GetDeleteOptions() metav1.DeleteOptions }); ok {
					opts := d.GetDeleteOptions()
					if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0 {
						t.Errorf("delete grace period = %v, want 0", opts.GracePeriodSeconds)
					}
				}
			}
		})
	}
}
