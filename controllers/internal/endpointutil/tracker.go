package endpointutil

import (
	"sync"

	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

const deletionExpected = -1

// SliceTracker remembers, per owner (a Service or an Endpoints), the
// generation of every EndpointSlice a controller last wrote, or that it
// deleted one, so that a sync can tell when the cache has not caught up with
// those writes yet and must wait rather than act on stale state (which would
// create duplicate slices).
type SliceTracker struct {
	mu   sync.Mutex
	gens map[types.UID]map[types.UID]int64
}

// NewSliceTracker returns an empty SliceTracker.
func NewSliceTracker() *SliceTracker {
	return &SliceTracker{gens: map[types.UID]map[types.UID]int64{}}
}

// Expect records a slice as written with its returned generation.
func (t *SliceTracker) Expect(svc types.UID, s *discovery.EndpointSlice) {
	t.set(svc, s.UID, s.Generation)
}

// ExpectDeletion records a slice as deleted.
func (t *SliceTracker) ExpectDeletion(svc types.UID, s *discovery.EndpointSlice) {
	t.set(svc, s.UID, deletionExpected)
}

func (t *SliceTracker) set(svc, slice types.UID, gen int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[svc]
	if m == nil {
		m = map[types.UID]int64{}
		t.gens[svc] = m
	}
	m[slice] = gen
}

// Observe handles a slice deletion seen in the cache: it is no longer
// expected anywhere.
func (t *SliceTracker) Observe(s *discovery.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.gens {
		delete(m, s.UID)
	}
}

// Forget drops a deleted Service.
func (t *SliceTracker) Forget(svc types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.gens, svc)
}

// Stale reports whether cached, the Service's slices as the cache shows
// them, lacks a write this controller made.
func (t *SliceTracker) Stale(svc types.UID, cached []*discovery.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[svc]
	if len(m) == 0 {
		return false
	}
	byUID := make(map[types.UID]*discovery.EndpointSlice, len(cached))
	for _, s := range cached {
		byUID[s.UID] = s
	}
	stale := false
	for uid, gen := range m {
		s, ok := byUID[uid]
		switch {
		case gen == deletionExpected && ok:
			stale = true
		case gen == deletionExpected:
			delete(m, uid)
		case !ok || s.Generation < gen:
			stale = true
		}
	}
	return stale
}
