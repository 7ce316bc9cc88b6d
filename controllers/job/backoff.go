package job

import (
	"math"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Upstream's pod-failure backoff: 10s, doubling with each consecutive
// failure, capped at 10 minutes.
const (
	DefaultPodFailureBackoff    = 10 * time.Second
	DefaultMaxPodFailureBackoff = 10 * time.Minute
)

// backoffRecord is what the Job's pod-failure backoff is computed from:
// consecutive failures since the last success and when the last one
// happened.
type backoffRecord struct {
	failuresAfterLastSuccess int
	lastFailureTime          *time.Time
}

// backoffStore keeps a record per Job (by UID). It lives in memory, as
// upstream's does: after a restart the backoff starts afresh.
type backoffStore struct {
	mu      sync.Mutex
	records map[types.UID]backoffRecord
}

func newBackoffStore() *backoffStore {
	return &backoffStore{records: map[types.UID]backoffRecord{}}
}

func (s *backoffStore) get(uid types.UID) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[uid]
}

func (s *backoffStore) set(uid types.UID, r backoffRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[uid] = r
}

func (s *backoffStore) remove(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, uid)
}

// next folds newly finished pods into the record: a success resets the
// count to the failures that finished after the latest success.
func (r backoffRecord) next(newSucceeded, newFailed []*corev1.Pod, now time.Time) backoffRecord {
	if len(newSucceeded) == 0 && len(newFailed) == 0 {
		return r
	}
	var lastSuccess *time.Time
	for _, p := range newSucceeded {
		t := podFinishTime(p, now)
		if lastSuccess == nil || t.After(*lastSuccess) {
			lastSuccess = &t
		}
	}
	out := r
	if lastSuccess != nil {
		out = backoffRecord{}
	}
	for _, p := range newFailed {
		t := podFinishTime(p, now)
		if lastSuccess != nil && !t.After(*lastSuccess) {
			continue
		}
		out.failuresAfterLastSuccess++
		if out.lastFailureTime == nil || t.After(*out.lastFailureTime) {
			out.lastFailureTime = &t
		}
	}
	return out
}

// remaining is how long pod creation must still wait.
func (r backoffRecord) remaining(clk clock.PassiveClock, base, maxDelay time.Duration) time.Duration {
	if r.failuresAfterLastSuccess == 0 || r.lastFailureTime == nil {
		return 0
	}
	return remainingBackoff(clk.Now(), *r.lastFailureTime, r.failuresAfterLastSuccess, base, maxDelay)
}

// backoffDelay is base·2^(failures-1), at most maxDelay.
func backoffDelay(failures int, base, maxDelay time.Duration) time.Duration {
	if failures <= 0 {
		return 0
	}
	exp := float64(failures - 1)
	if exp > 62 {
		return maxDelay
	}
	d := time.Duration(float64(base) * math.Pow(2, exp))
	if d > maxDelay || d <= 0 {
		return maxDelay
	}
	return d
}

func remainingBackoff(now, lastFailure time.Time, failures int, base, maxDelay time.Duration) time.Duration {
	left := lastFailure.Add(backoffDelay(failures, base, maxDelay)).Sub(now)
	if left < 0 {
		return 0
	}
	return left
}

// podFinishTime is when the pod finished: the latest container
// termination, else its Ready condition's last transition, else its
// deletion, else now.
func podFinishTime(p *corev1.Pod, now time.Time) time.Time {
	var t *time.Time
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if term := cs.State.Terminated; term != nil && !term.FinishedAt.IsZero() {
				if ft := term.FinishedAt.Time; t == nil || ft.After(*t) {
					t = &ft
				}
			}
		}
	}
	if t != nil {
		return *t
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	return now
}
