package queue

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

func pod(name string, prio int32, gates ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)}, Spec: v1.PodSpec{Priority: &prio}}
	for _, g := range gates {
		p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, v1.PodSchedulingGate{Name: g})
	}
	return p
}

func newQueue() (*Queue, *testingclock.FakeClock) {
	clk := testingclock.NewFakeClock(time.Unix(1000, 0))
	return New(Options{Clock: clk}), clk
}

func popName(t *testing.T, q *Queue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	pi := q.Pop(ctx)
	if pi == nil {
		return ""
	}
	return pi.Pod.Name
}

func TestOrder(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("a-low", 1))
	clk.Step(time.Millisecond)
	q.Add(pod("b-high", 10))
	clk.Step(time.Millisecond)
	q.Add(pod("c-low", 1))
	clk.Step(time.Millisecond)
	q.Add(pod("d-high", 10))
	for _, want := range []string{"b-high", "d-high", "a-low", "c-low"} {
		if got := popName(t, q); got != want {
			t.Fatalf("popped %q, want %q", got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {9, 10 * time.Second}}
	q, _ := newQueue()
	for _, tt := range tests {
		if got := q.backoffDuration(&PodInfo{Attempts: tt.attempts}); got != tt.want {
			t.Errorf("attempts %d: backoff %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

func TestUnschedulableMovedOnEvent(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("p", 0))
	pi := q.Pop(context.Background())
	cycle := q.SchedulingCycle()
	q.AddUnschedulable(pi, cycle, false)
	if a, b, u := q.Lengths(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("lengths %d/%d/%d, want 0/0/1", a, b, u)
	}
	// An event within the backoff window sends it to backoffQ...
	q.MoveAllToActiveOrBackoff()
	if a, b, u := q.Lengths(); a != 0 || b != 1 || u != 0 {
		t.Fatalf("after move: %d/%d/%d, want 0/1/0", a, b, u)
	}
	// ...which releases it once the 1s backoff is over.
	clk.Step(500 * time.Millisecond)
	q.FlushBackoffCompleted()
	if a, _, _ := q.Lengths(); a != 0 {
		t.Fatalf("released before its backoff ended")
	}
	clk.Step(600 * time.Millisecond)
	q.FlushBackoffCompleted()
	if got := popName(t, q); got != "p" {
		t.Fatalf("popped %q, want p", got)
	}
}

func TestMoveDuringCycleGoesToBackoff(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("p", 0))
	pi := q.Pop(context.Background())
	cycle := q.SchedulingCycle()
	q.MoveAllToActiveOrBackoff() // an event while p was being scheduled
	q.AddUnschedulable(pi, cycle, false)
	if _, b, u := q.Lengths(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d, want 1/0", b, u)
	}
}

func TestUnschedulableFlushedAfterFiveMinutes(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("p", 0))
	pi := q.Pop(context.Background())
	q.AddUnschedulable(pi, q.SchedulingCycle(), false)
	clk.Step(4 * time.Minute)
	q.FlushUnschedulableLeftover()
	if _, _, u := q.Lengths(); u != 1 {
		t.Fatalf("flushed too early")
	}
	clk.Step(time.Minute + time.Second)
	q.FlushUnschedulableLeftover()
	if got := popName(t, q); got != "p" {
		t.Fatalf("popped %q, want p", got)
	}
}

func TestGates(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("gated", 100, "example.com/g"))
	q.Add(pod("free", 0))
	q.MoveAllToActiveOrBackoff()
	if got := popName(t, q); got != "free" {
		t.Fatalf("popped %q, want free", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if pi := q.Pop(ctx); pi != nil {
		t.Fatalf("popped gated pod %s", pi.Pod.Name)
	}
	q.Update(pod("gated", 100))
	if got := popName(t, q); got != "gated" {
		t.Fatalf("popped %q after ungating, want gated", got)
	}
}

func TestDeleteAndClose(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("p", 0))
	q.Delete(pod("p", 0))
	if q.Has("p") {
		t.Fatal("deleted pod still queued")
	}
	done := make(chan *PodInfo)
	go func() { done <- q.Pop(context.Background()) }()
	q.Close()
	select {
	case pi := <-done:
		if pi != nil {
			t.Fatalf("Pop after Close returned %s", pi.Pod.Name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pop did not return after Close")
	}
}
