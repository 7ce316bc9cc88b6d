package server

import (
	"runtime/debug"
	"testing"
)

// TestStartupGC checks that the start-up GC settings apply while exactly
// one server starts and that the process's own are restored afterwards,
// whatever the order servers finish in.
func TestStartupGC(t *testing.T) {
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(-1)
	defer func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}()
	percent := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{name: "one server", run: func(t *testing.T) {
			end := beginStartupGC()
			if got := percent(); got != startupGCPercent {
				t.Errorf("while starting: GOGC %d, want %d", got, startupGCPercent)
			}
			end()
			end()
			if got := percent(); got != 100 {
				t.Errorf("after start: GOGC %d, want 100", got)
			}
		}},
		{name: "two servers at once", run: func(t *testing.T) {
			endA := beginStartupGC()
			endB := beginStartupGC()
			if got := percent(); got != 100 {
				t.Errorf("two starting: GOGC %d, want the process's 100", got)
			}
			endA()
			endB()
			if got := percent(); got != 100 {
				t.Errorf("after both: GOGC %d, want 100", got)
			}
			if startupGC.starting != 0 {
				t.Errorf("%d servers still counted as starting", startupGC.starting)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
	if got := debug.SetMemoryLimit(-1); got != prevLimit {
		t.Errorf("memory limit %d after the servers started, want %d", got, prevLimit)
	}
}
