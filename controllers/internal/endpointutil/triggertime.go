package endpointutil

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TriggerTimeTracker computes the endpoints.kubernetes.io/last-change-trigger-time
// of a Service's endpoints: the earliest time, among the changes since the
// previous sync, at which a change that the new endpoints reflect happened
// (a selected pod's Ready transition, or the Service's creation on its first
// sync).
type TriggerTimeTracker struct {
	mu     sync.Mutex
	states map[types.NamespacedName]serviceState
}

type serviceState struct {
	serviceTime time.Time
	podTimes    map[string]time.Time
}

// NewTriggerTimeTracker returns an empty tracker.
func NewTriggerTimeTracker() *TriggerTimeTracker {
	return &TriggerTimeTracker{states: map[types.NamespacedName]serviceState{}}
}

// Compute returns the trigger time for a sync of svc over pods (the zero
// time means nothing changed since the last committed sync) and commit,
// which records their state for the next sync. Call commit once the sync's
// writes succeeded, so a failed sync reports the same changes when retried.
func (t *TriggerTimeTracker) Compute(svc *corev1.Service, pods []*corev1.Pod) (triggerTime time.Time, commit func()) {
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, known := t.states[key]
	next := serviceState{serviceTime: svc.CreationTimestamp.Time, podTimes: make(map[string]time.Time, len(pods))}
	var min time.Time
	consider := func(ts time.Time) {
		if ts.IsZero() {
			return
		}
		if min.IsZero() || ts.Before(min) {
			min = ts
		}
	}
	if !known || !prev.serviceTime.Equal(next.serviceTime) {
		consider(next.serviceTime)
	}
	for _, pod := range pods {
		var ts time.Time
		if c := PodReadyCondition(pod); c != nil {
			ts = c.LastTransitionTime.Time
		}
		next.podTimes[pod.Name] = ts
		if old, ok := prev.podTimes[pod.Name]; !ok || !old.Equal(ts) {
			consider(ts)
		}
	}
	return min, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.states[key] = next
	}
}

// Delete forgets a deleted Service.
func (t *TriggerTimeTracker) Delete(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.states, key)
}
