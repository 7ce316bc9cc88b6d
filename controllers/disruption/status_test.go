package disruption

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDesired(t *testing.T) {
	i := func(v int32) *intstr.IntOrString { x := intstr.FromInt32(v); return &x }
	s := func(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }
	cases := []struct {
		name                  string
		spec                  policyv1.PodDisruptionBudgetSpec
		pods, scale           int32
		scaleErr              error
		wantExpected, wantDes int32
		wantErr               bool
	}{
		{name: "minAvailable int uses pod count", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: i(2)}, pods: 3, scale: 10, wantExpected: 3, wantDes: 2},
		{name: "minAvailable percent rounds up", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: s("50%")}, pods: 3, scale: 5, wantExpected: 5, wantDes: 3},
		{name: "maxUnavailable int", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: i(1)}, pods: 3, scale: 4, wantExpected: 4, wantDes: 3},
		{name: "maxUnavailable percent rounds up", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: s("30%")}, pods: 3, scale: 5, wantExpected: 5, wantDes: 3},
		{name: "maxUnavailable above scale floors at zero", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: i(9)}, pods: 3, scale: 4, wantExpected: 4, wantDes: 0},
		{name: "scale error", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: i(1)}, scaleErr: errors.New("boom"), wantErr: true},
		{name: "neither", spec: policyv1.PodDisruptionBudgetSpec{}, pods: 3, wantExpected: 0, wantDes: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pdb := &policyv1.PodDisruptionBudget{Spec: c.spec}
			e, d, err := Desired(pdb, c.pods, func() (int32, error) { return c.scale, c.scaleErr })
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err == nil && (e != c.wantExpected || d != c.wantDes) {
				t.Fatalf("expected, desired = %d, %d; want %d, %d", e, d, c.wantExpected, c.wantDes)
			}
		})
	}
}

func readyPod(name string, ready bool, deleting bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func TestHealthyAndDisrupted(t *testing.T) {
	now := time.Now()
	pods := []*corev1.Pod{readyPod("a", true, false), readyPod("b", true, false), readyPod("c", false, false), readyPod("d", true, true), readyPod("e", true, false)}
	pdb := &policyv1.PodDisruptionBudget{Status: policyv1.PodDisruptionBudgetStatus{DisruptedPods: map[string]metav1.Time{
		"a":    metav1.NewTime(now.Add(-30 * time.Second)), // recent: kept, not healthy
		"e":    metav1.NewTime(now.Add(-3 * time.Minute)),  // expired: dropped, healthy again
		"d":    metav1.NewTime(now),                        // being deleted: dropped
		"gone": metav1.NewTime(now),                        // no such pod: dropped
	}}}
	kept, expired, recheck := DisruptedPods(pdb, pods, now)
	if _, ok := kept["a"]; len(kept) != 1 || !ok {
		t.Fatalf("kept %v, want only a", kept)
	}
	if len(expired) != 1 || expired[0].Name != "e" {
		t.Fatalf("expired %v, want e", expired)
	}
	if want := now.Add(-30 * time.Second).Add(DeletionTimeout); !recheck.Equal(want) {
		t.Fatalf("recheck %v, want %v", recheck, want)
	}
	if got := CurrentHealthy(pods, kept, now); got != 2 {
		t.Fatalf("healthy = %d, want 2 (b, e)", got)
	}
}

func TestAllowed(t *testing.T) {
	cases := []struct{ expected, healthy, desired, want int32 }{
		{4, 4, 3, 1}, {4, 3, 3, 0}, {4, 2, 3, 0}, {0, 2, 0, 0}, {5, 5, 0, 5},
	}
	for _, c := range cases {
		if got := Allowed(c.expected, c.healthy, c.desired); got != c.want {
			t.Errorf("Allowed(%d, %d, %d) = %d, want %d", c.expected, c.healthy, c.desired, got, c.want)
		}
	}
}

func TestConditionUpToDate(t *testing.T) {
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
	pdb.Status.ObservedGeneration = 2
	pdb.Status.DisruptionsAllowed = 1
	if conditionUpToDate(pdb) {
		t.Fatal("no condition yet is not up to date")
	}
	setAllowedCondition(pdb)
	if !conditionUpToDate(pdb) || pdb.Status.Conditions[0].Reason != policyv1.SufficientPodsReason {
		t.Fatalf("after set: %+v", pdb.Status.Conditions)
	}
	pdb.Status.DisruptionsAllowed = 0
	if conditionUpToDate(pdb) {
		t.Fatal("allowed dropped to 0 but condition says Sufficient")
	}
	setAllowedCondition(pdb)
	if c := pdb.Status.Conditions[0]; c.Status != metav1.ConditionFalse || c.Reason != policyv1.InsufficientPodsReason {
		t.Fatalf("condition %+v", c)
	}
}

func TestStaleDisruptionTarget(t *testing.T) {
	now := time.Now()
	mk := func(status corev1.ConditionStatus, reason string, age time.Duration, phase corev1.PodPhase, deleting bool) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{
			Type: corev1.DisruptionTarget, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(now.Add(-age)),
		}}}}
		if deleting {
			ts := metav1.Now()
			p.DeletionTimestamp = &ts
		}
		return p
	}
	cases := []struct {
		name      string
		pod       *corev1.Pod
		stale     bool
		waitAbove time.Duration
	}{
		{"old", mk(corev1.ConditionTrue, "EvictionByEvictionAPI", 3*time.Minute, corev1.PodRunning, false), true, -1},
		{"young waits", mk(corev1.ConditionTrue, "EvictionByEvictionAPI", 30*time.Second, corev1.PodRunning, false), true, time.Minute},
		{"kubelet's is never stale", mk(corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet, time.Hour, corev1.PodRunning, false), false, -1},
		{"terminal", mk(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour, corev1.PodFailed, false), false, -1},
		{"deleting", mk(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour, corev1.PodRunning, true), false, -1},
		{"false", mk(corev1.ConditionFalse, "", time.Hour, corev1.PodRunning, false), false, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stale, wait := StaleDisruptionTarget(c.pod, now)
			if stale != c.stale {
				t.Fatalf("stale = %v, want %v", stale, c.stale)
			}
			if c.waitAbove < 0 && wait != 0 || c.waitAbove >= 0 && wait <= c.waitAbove {
				t.Fatalf("wait = %v (want > %v)", wait, c.waitAbove)
			}
		})
	}
}
