package server

import (
	"math"
	"runtime/debug"
	"sync"
)

// Start-up allocates several times the heap an idle server keeps (OpenAPI
// models and type converters, the handler chains, the bootstrap objects),
// and with the default GOGC of 100 the collector runs many times over a
// young heap: about a fifth of start-up CPU. While one server of the
// process is starting, the collector is therefore let the heap grow to
// five times the live heap (GOGC 400), under a soft limit, and the
// process's own settings are restored once that server is ready (then
// addStartupMemoryHook hands the garbage back to the OS). With several
// servers starting at once (tests starting many environments in one
// process) the process's settings stay, so as not to multiply the peak.
const (
	startupGCPercent   = 400
	startupMemoryLimit = 2 << 30
)

// startupGCState is the process's start-up GC tuning.
type startupGCState struct {
	mu       sync.Mutex
	starting int
	// tuned is whether the start-up settings are in force; prevPercent
	// and prevLimit are the process's own, to restore.
	tuned       bool
	prevPercent int
	prevLimit   int64
}

var startupGC startupGCState

// beginStartupGC marks a server as starting and returns the function that
// marks it ready (or failed); calling that more than once is harmless.
func beginStartupGC() (end func()) {
	s := &startupGC
	s.mu.Lock()
	s.starting++
	switch {
	case s.starting == 1:
		s.prevPercent = debug.SetGCPercent(startupGCPercent)
		// Off (GOGC=off) stays off.
		if s.prevPercent < 0 {
			debug.SetGCPercent(s.prevPercent)
		}
		s.prevLimit = debug.SetMemoryLimit(-1)
		if s.prevLimit == math.MaxInt64 {
			debug.SetMemoryLimit(startupMemoryLimit)
		}
		s.tuned = true
	case s.tuned:
		s.restoreLocked()
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.starting--
			if s.starting == 0 && s.tuned {
				s.restoreLocked()
			}
		})
	}
}

func (s *startupGCState) restoreLocked() {
	debug.SetGCPercent(s.prevPercent)
	debug.SetMemoryLimit(s.prevLimit)
	s.tuned = false
}
