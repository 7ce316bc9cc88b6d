package testserver_test

import (
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// BenchmarkStart measures one in-process server's start (fresh data dir,
// embedded etcd) to /readyz ok, and its stop. With -cpuprofile and
// -memprofile it is the start-up profile of the whole chain.
func BenchmarkStart(b *testing.B) {
	var start, stop time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		ts, err := testserver.Start(testserver.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start += time.Since(t0)
		t1 := time.Now()
		if err := ts.Stop(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t1)
	}
	b.ReportMetric(start.Seconds()/float64(b.N), "start-s")
	b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s")
}
