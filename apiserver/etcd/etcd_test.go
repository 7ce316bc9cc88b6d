package etcd

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestStartWriteRestartRead(t *testing.T) {
	dir := t.TempDir()
	write := func(ctx context.Context, s *Server, put bool) string {
		t.Helper()
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL()}, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if put {
			if _, err := c.Put(ctx, "/registry/test", "value"); err != nil {
				t.Fatalf("put: %v", err)
			}
		}
		resp, err := c.Get(ctx, "/registry/test")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if len(resp.Kvs) != 1 {
			return ""
		}
		return string(resp.Kvs[0].Value)
	}
	for i, put := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		s, err := New(Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		if got := write(ctx, s, put); got != "value" {
			t.Fatalf("start %d: read %q, want %q", i, got, "value")
		}
		cancel()
		select {
		case <-s.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("etcd did not stop within 30s")
		}
	}
}

func TestNewRequiresDataDir(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New with no DataDir succeeded")
	}
}
