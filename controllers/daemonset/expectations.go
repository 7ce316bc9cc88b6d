package daemonset

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// expectationsTTL is how long unobserved creations and deletions hold a
// DaemonSet's manage loop back (upstream's ExpectationsTimeout).
const expectationsTTL = 5 * time.Minute

// expectations count, per DaemonSet, the pod creations whose watch event
// has not arrived and the pod deletions (by UID) not seen yet, so the
// manage loop does not act twice on a cache that lags its own writes.
type expectations struct {
	mu    sync.Mutex
	items map[types.NamespacedName]*expectation
}

type expectation struct {
	adds    int
	deletes map[types.UID]bool
	at      time.Time
}

func newExpectations() *expectations {
	return &expectations{items: map[types.NamespacedName]*expectation{}}
}

func (e *expectations) get(key types.NamespacedName) *expectation {
	x := e.items[key]
	if x == nil {
		x = &expectation{deletes: map[types.UID]bool{}}
		e.items[key] = x
	}
	return x
}

// expect records adds creations and the deletion of uids about to happen.
func (e *expectations) expect(key types.NamespacedName, adds int, uids []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.get(key)
	x.adds += adds
	for _, u := range uids {
		x.deletes[u] = true
	}
	x.at = time.Now()
}

// created lowers the expected creations by one (observed or failed).
func (e *expectations) created(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.items[key]; x != nil && x.adds > 0 {
		x.adds--
	}
}

// deleted marks uid's deletion observed (or failed).
func (e *expectations) deleted(key types.NamespacedName, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.items[key]; x != nil {
		delete(x.deletes, uid)
	}
}

// satisfied reports whether key has nothing outstanding (or it expired).
func (e *expectations) satisfied(key types.NamespacedName) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.items[key]
	if x == nil || (x.adds <= 0 && len(x.deletes) == 0) {
		return true
	}
	if time.Since(x.at) > expectationsTTL {
		delete(e.items, key)
		return true
	}
	return false
}

// forget drops key (its DaemonSet is gone).
func (e *expectations) forget(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.items, key)
}
