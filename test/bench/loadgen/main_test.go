package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	valid := options{kubeconfig: "k", namespace: "ns", kind: "configmaps", workers: 1, objects: 1, lists: 1, duration: time.Second}
	tests := []struct {
		name   string
		mutate func(*options)
		want   []string // substrings of the error; none means valid
	}{
		{name: "valid", mutate: func(*options) {}},
		{name: "no kubeconfig", mutate: func(o *options) { o.kubeconfig = "" }, want: []string{"--kubeconfig is required"}},
		{name: "unknown kind", mutate: func(o *options) { o.kind = "widgets" }, want: []string{`--kind "widgets" is not supported; use one of: configmaps, pods`}},
		{name: "workers and objects out of range", mutate: func(o *options) { o.workers = 0; o.objects = maxObjects + 1 },
			want: []string{"--workers must be between 1 and 1024, got 0", "--objects must be between 1 and 100000, got 100001"}},
		{name: "unbounded duration", mutate: func(o *options) { o.duration = 0 }, want: []string{"--duration must be positive and at most 30m0s, got 0s"}},
		{name: "too many lists", mutate: func(o *options) { o.lists = maxLists + 1 }, want: []string{"--lists must be between 1 and 1000, got 1001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.mutate(&o)
			err := o.validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate() = nil, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRestConfigLoopbackOnly(t *testing.T) {
	tests := []struct {
		server  string
		wantErr string
	}{
		{server: "https://127.0.0.1:6443"},
		{server: "https://[::1]:6443"},
		{server: "https://localhost:6443"},
		{server: "https://10.1.2.3:6443", wantErr: "server https://10.1.2.3:6443 is not on a loopback address"},
		{server: "https://example.com", wantErr: "server https://example.com is not on a loopback address"},
	}
	for _, tc := range tests {
		t.Run(tc.server, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kubeconfig")
			kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + tc.server +
				"\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\ncurrent-context: c\n"
			if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := restConfig(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("restConfig() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("restConfig() = %v", err)
			}
			if cfg.QPS != 5000 || cfg.Burst != 10000 {
				t.Errorf("QPS/Burst = %v/%d, want 5000/10000", cfg.QPS, cfg.Burst)
			}
		})
	}
}

func TestParallel(t *testing.T) {
	t.Run("every index once", func(t *testing.T) {
		const n = 100
		var seen [n]atomic.Int32
		if _, err := parallel(context.Background(), 7, n, func(_ context.Context, i int) error {
			seen[i].Add(1)
			return nil
		}); err != nil {
			t.Fatalf("parallel() = %v", err)
		}
		for i := range seen {
			if got := seen[i].Load(); got != 1 {
				t.Errorf("index %d called %d times, want 1", i, got)
			}
		}
	})
	t.Run("first error stops the rest", func(t *testing.T) {
		boom := errors.New("boom")
		var calls atomic.Int32
		_, err := parallel(context.Background(), 1, 1000, func(_ context.Context, i int) error {
			calls.Add(1)
			if i == 3 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("parallel() = %v, want %v", err, boom)
		}
		if got := calls.Load(); got != 4 {
			t.Errorf("%d calls, want 4 (one worker stops at the failing index)", got)
		}
	})
	t.Run("ended context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := parallel(ctx, 2, 10, func(context.Context, int) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("parallel() = %v, want context.Canceled", err)
		}
	})
}

func TestEmitPercentiles(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	var out bytes.Buffer
	emitPercentiles(&out, "list_latency", samples)
	want := "list_latency_p50_ms 50.00\nlist_latency_p99_ms 99.00\n"
	if out.String() != want {
		t.Errorf("emitPercentiles() printed %q, want %q", out.String(), want)
	}
	if samples[0] != 100*time.Millisecond {
		t.Errorf("emitPercentiles reordered its input")
	}
}
