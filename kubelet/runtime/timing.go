package runtime

import (
	"time"

	"github.com/go-logr/logr"
)

// Steps times the steps of one operation (a pod's sandbox, a container's
// start) for a V(2) log line that says where the time went.
type Steps struct {
	start, last time.Time
	kv          []any
}

// NewSteps starts timing an operation.
func NewSteps() *Steps {
	now := time.Now()
	return &Steps{start: now, last: now}
}

// Mark ends the step name, recording its duration since the previous mark.
func (s *Steps) Mark(name string) {
	now := time.Now()
	s.kv = append(s.kv, name, now.Sub(s.last).Round(time.Microsecond).String())
	s.last = now
}

// Total is the time since NewSteps.
func (s *Steps) Total() time.Duration { return time.Since(s.start) }

// Log writes msg with every step's duration and the total at V(2).
func (s *Steps) Log(log logr.Logger, msg string, kv ...any) {
	if !log.V(2).Enabled() {
		return
	}
	all := append(append(kv, s.kv...), "total", time.Since(s.start).Round(time.Microsecond).String())
	log.V(2).Info(msg, all...)
}
