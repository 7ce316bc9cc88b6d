package proxy

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// DefaultHealthTimeout is how long a change may wait to be programmed
// before /healthz and /livez report the proxy unhealthy: kube-proxy uses
// twice its 30s sync period.
const DefaultHealthTimeout = 60 * time.Second

// proxyHealth is kube-proxy's proxier health: the proxy is healthy while
// no change has waited longer than timeout to be programmed. Unlike
// kube-proxy, which answers 200 before its first sync, it is unhealthy
// until the first complete sync, so /healthz also says the node's Service
// routing is in place.
type proxyHealth struct {
	timeout time.Duration
	now     func() time.Time

	mu          sync.Mutex
	lastUpdated time.Time
	// oldestPending is when the oldest change not yet programmed was made;
	// zero when none is pending.
	oldestPending time.Time
}

func newProxyHealth(timeout time.Duration) *proxyHealth {
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	return &proxyHealth{timeout: timeout, now: time.Now}
}

// queued records that the desired state changed.
func (h *proxyHealth) queued() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.oldestPending.IsZero() {
		h.oldestPending = h.now()
	}
}

// updated records a successful sync that read the desired state after
// start: changes queued before start are programmed.
func (h *proxyHealth) updated(start time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastUpdated = h.now()
	if !h.oldestPending.IsZero() && !h.oldestPending.After(start) {
		h.oldestPending = time.Time{}
	}
}

// healthy reports the state and the last successful sync.
func (h *proxyHealth) healthy() (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastUpdated.IsZero() {
		return false, h.lastUpdated
	}
	if !h.oldestPending.IsZero() && h.now().Sub(h.oldestPending) > h.timeout {
		return false, h.lastUpdated
	}
	return true, h.lastUpdated
}

// handler serves /healthz and /livez with kube-proxy's status codes and
// body. /healthz also reports nodeEligible, which is always true here:
// Skiff does not take a node's proxy out of load balancing while the node
// is deleted.
func (h *proxyHealth) handler() http.Handler {
	serve := func(withNode bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ok, last := h.healthy()
			body := map[string]any{"currentTime": h.now().UTC().Format(time.RFC3339Nano)}
			body["lastUpdated"] = ""
			if !last.IsZero() {
				body["lastUpdated"] = last.UTC().Format(time.RFC3339Nano)
			}
			if withNode {
				body["nodeEligible"] = true
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			if ok {
				w.WriteHeader(http.StatusOK)
			} else {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			json.NewEncoder(w).Encode(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", serve(true))
	mux.Handle("/livez", serve(false))
	return mux
}
