package etcd

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkStart measures an embedded etcd's start on a fresh data dir,
// with fsync as `skiff apiserver` runs it, to ReadyNotify.
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		s, err := New(Config{DataDir: filepath.Join(dir, strconv.Itoa(i))})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t0 := time.Now()
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		cancel()
		<-s.Done()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "start-s")
}
