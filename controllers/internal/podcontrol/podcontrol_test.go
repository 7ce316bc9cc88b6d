package podcontrol

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpectations(t *testing.T) {
	now := time.Unix(1000, 0)
	e := NewExpectations()
	e.now = func() time.Time { return now }
	const key = "ns/rs"
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"nothing recorded", func() {}, true},
		{"two creations expected", func() { e.ExpectCreations(key, 2) }, false},
		{"one observed", func() { e.CreationObserved(key) }, false},
		{"both observed", func() { e.CreationObserved(key) }, true},
		{"deletions expected", func() { e.ExpectDeletions(key, []string{"ns/a", "ns/b"}) }, false},
		{"unrelated deletion", func() { e.DeletionObserved(key, "ns/c") }, false},
		{"one deletion", func() { e.DeletionObserved(key, "ns/a") }, false},
		{"same deletion twice", func() { e.DeletionObserved(key, "ns/a") }, false},
		{"other deletion", func() { e.DeletionObserved(key, "ns/b") }, true},
		{"creations lowered after failures", func() { e.ExpectCreations(key, 5); e.LowerCreations(key, 5) }, true},
		{"expired", func() { e.ExpectCreations(key, 1); now = now.Add(ExpectationsTimeout + time.Second) }, true},
		{"forgotten", func() { e.ExpectCreations(key, 1); e.Forget(key) }, true},
	}
	for _, s := range steps {
		s.do()
		if got := e.Satisfied(key); got != s.want {
			t.Errorf("%s: Satisfied = %v, want %v", s.name, got, s.want)
		}
	}
}

func TestSlowStartBatch(t *testing.T) {
	cases := []struct {
		name      string
		count     int
		failAfter int64 // calls after this many fail; -1 never
		wantOK    int
		wantCalls int64
	}{
		{"all succeed", 10, -1, 10, 10},
		{"zero", 0, -1, 0, 0},
		// batches 1, 2, 4: the third batch has the first failure.
		{"fails in third batch", 10, 4, 4, 7},
		{"first fails", 10, 0, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int64
			ok, err := SlowStartBatch(c.count, 1, func() error {
				if n := calls.Add(1); c.failAfter >= 0 && n > c.failAfter {
					return errors.New("quota")
				}
				return nil
			})
			if ok != c.wantOK || calls.Load() != c.wantCalls || (err != nil) != (c.failAfter >= 0) {
				t.Errorf("ok=%d calls=%d err=%v, want ok=%d calls=%d", ok, calls.Load(), err, c.wantOK, c.wantCalls)
			}
		})
	}
}

func pod(name, node string, phase corev1.PodPhase, ready bool, readyAgo, age time.Duration, now time.Time) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-readyAgo))}}
	}
	return p
}

func TestSortForDeletion(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	costly := pod("costly", "n", corev1.PodRunning, true, time.Hour, time.Hour, now)
	costly.Annotations = map[string]string{PodDeletionCostAnnotation: "100"}
	restarts := pod("restarts", "n", corev1.PodRunning, true, time.Hour, time.Hour, now)
	restarts.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: 5}}
	cases := []struct {
		name  string
		pods  []*corev1.Pod
		ranks []int
		want  []string
	}{
		{
			name: "scheduling, phase, readiness",
			pods: []*corev1.Pod{
				pod("ready", "n", corev1.PodRunning, true, time.Hour, time.Hour, now),
				pod("running", "n", corev1.PodRunning, false, 0, time.Hour, now),
				pod("unknown", "n", corev1.PodUnknown, false, 0, time.Hour, now),
				pod("pending", "n", corev1.PodPending, false, 0, time.Hour, now),
				pod("unscheduled", "", corev1.PodPending, false, 0, time.Hour, now),
			},
			want: []string{"unscheduled", "pending", "unknown", "running", "ready"},
		},
		{
			name:  "deletion cost, then doubled up, then ready time",
			pods:  []*corev1.Pod{costly, pod("old-ready", "n", corev1.PodRunning, true, 10*time.Hour, 10*time.Hour, now), pod("new-ready", "n", corev1.PodRunning, true, time.Second, 10*time.Hour, now), pod("doubled", "n", corev1.PodRunning, true, 10*time.Hour, 10*time.Hour, now)},
			ranks: []int{0, 1, 1, 3},
			want:  []string{"doubled", "new-ready", "old-ready", "costly"},
		},
		{
			name: "restarts, then age",
			pods: []*corev1.Pod{pod("old", "n", corev1.PodRunning, true, time.Hour, 100*time.Hour, now), pod("young", "n", corev1.PodRunning, true, time.Hour, time.Second, now), restarts},
			want: []string{"restarts", "young", "old"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			SortForDeletion(c.pods, c.ranks, now)
			for i, p := range c.pods {
				if p.Name != c.want[i] {
					var got []string
					for _, p := range c.pods {
						got = append(got, p.Name)
					}
					t.Fatalf("order %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestIsPodAvailable(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	cases := []struct {
		name     string
		pod      *corev1.Pod
		minReady int32
		want     bool
	}{
		{"not ready", pod("p", "n", corev1.PodRunning, false, 0, time.Hour, now), 0, false},
		{"ready, no minReady", pod("p", "n", corev1.PodRunning, true, 0, time.Hour, now), 0, true},
		{"ready too recently", pod("p", "n", corev1.PodRunning, true, time.Second, time.Hour, now), 5, false},
		{"ready long enough", pod("p", "n", corev1.PodRunning, true, 5*time.Second, time.Hour, now), 5, true},
	}
	for _, c := range cases {
		if got := IsPodAvailable(c.pod, c.minReady, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
