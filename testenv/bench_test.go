package testenv_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/skiff-dev/skiff/testenv"
)

// starter is an environment under benchmark: Skiff's in-process one, or
// stock envtest on the binaries `skiff envtest-assets` lays out.
type starter interface {
	Start() (*rest.Config, error)
	Stop() error
}

func starters(b *testing.B) map[string]func() starter {
	out := map[string]func() starter{
		"testenv": func() starter { return &testenv.Environment{} },
	}
	// hack/bench-testenv.sh sets KUBEBUILDER_ASSETS to `skiff envtest-assets`'s
	// directory; without it only testenv is measured.
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		out["envtest"] = func() starter { return &envtest.Environment{} }
	} else {
		b.Log("KUBEBUILDER_ASSETS is not set: not measuring stock envtest")
	}
	return out
}

// BenchmarkStartStop measures one environment's Start (to a usable config)
// and Stop, one after another in the same process; the first start of the
// process is reported separately as first-start-s.
func BenchmarkStartStop(b *testing.B) {
	for name, newEnv := range starters(b) {
		b.Run(name, func(b *testing.B) {
			var start, stop, first time.Duration
			for i := 0; i < b.N; i++ {
				env := newEnv()
				t0 := time.Now()
				if _, err := env.Start(); err != nil {
					b.Fatal(err)
				}
				d := time.Since(t0)
				if i == 0 {
					first = d
				}
				start += d
				t1 := time.Now()
				if err := env.Stop(); err != nil {
					b.Fatal(err)
				}
				stop += time.Since(t1)
			}
			b.ReportMetric(first.Seconds(), "first-start-s")
			b.ReportMetric(start.Seconds()/float64(b.N), "start-s")
			b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s")
		})
	}
}

// BenchmarkParallel16 starts 16 environments at once and stops them: the
// figure is the wall time until all 16 are usable, and until all are gone.
func BenchmarkParallel16(b *testing.B) {
	const n = 16
	for name, newEnv := range starters(b) {
		b.Run(name, func(b *testing.B) {
			var ready, stopped time.Duration
			for i := 0; i < b.N; i++ {
				envs := make([]starter, n)
				errs := make([]error, n)
				t0 := time.Now()
				var wg sync.WaitGroup
				for j := range envs {
					envs[j] = newEnv()
					wg.Add(1)
					go func() { defer wg.Done(); _, errs[j] = envs[j].Start() }()
				}
				wg.Wait()
				ready += time.Since(t0)
				t1 := time.Now()
				for j := range envs {
					wg.Add(1)
					go func() { defer wg.Done(); _ = envs[j].Stop() }()
				}
				wg.Wait()
				stopped += time.Since(t1)
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(ready.Seconds()/float64(b.N), "all-ready-s")
			b.ReportMetric(stopped.Seconds()/float64(b.N), "all-stopped-s")
		})
	}
}
