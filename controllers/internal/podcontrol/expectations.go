package podcontrol

import (
	"sync"
	"time"
)

// ExpectationsTimeout is how long expectations are trusted: after it, a
// controller syncs anyway, as upstream does (a watch event may have been
// lost).
const ExpectationsTimeout = 5 * time.Minute

// Expectations records, per controller key ("namespace/name"), how many
// creations and which deletions a controller has issued but not yet seen in
// its cache. A controller only manages replicas when its expectations are
// satisfied, so a cache that lags its own writes never makes it act twice.
// The zero value is not usable; call NewExpectations.
type Expectations struct {
	mu      sync.Mutex
	entries map[string]*expectation
	now     func() time.Time
}

type expectation struct {
	adds      int
	deletes   map[string]bool
	timestamp time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{entries: map[string]*expectation{}, now: time.Now}
}

func (e *Expectations) entry(key string) *expectation {
	x, ok := e.entries[key]
	if !ok {
		x = &expectation{deletes: map[string]bool{}}
		e.entries[key] = x
	}
	return x
}

// ExpectCreations records that n creations were issued for key, replacing
// what was expected before.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.entry(key)
	x.adds = n
	x.timestamp = e.now()
}

// ExpectDeletions records that the objects named by podKeys
// ("namespace/name") are being deleted for key.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.entry(key)
	x.deletes = map[string]bool{}
	for _, k := range podKeys {
		x.deletes[k] = true
	}
	x.timestamp = e.now()
}

// CreationObserved lowers the creations expected for key by one, when the
// cache shows a created object (or a creation failed).
func (e *Expectations) CreationObserved(key string) { e.LowerCreations(key, 1) }

// LowerCreations lowers the creations expected for key by n (creations that
// failed or were never attempted).
func (e *Expectations) LowerCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.entries[key]; ok && x.adds > 0 {
		x.adds -= n
		if x.adds < 0 {
			x.adds = 0
		}
	}
}

// DeletionObserved records that podKey, one of the deletions expected for
// key, is gone (or is terminating, or its deletion failed).
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.entries[key]; ok {
		delete(x.deletes, podKey)
	}
}

// Satisfied reports whether key has nothing outstanding (or its expectations
// expired, or it has none recorded), i.e. whether the controller may act on
// what its cache shows.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.entries[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletes) == 0 {
		return true
	}
	return e.now().Sub(x.timestamp) > ExpectationsTimeout
}

// Forget drops everything recorded for key (its controller was deleted).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.entries, key)
}
