package apibalancer

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// backend is a TLS server whose /readyz answers as ready says and whose
// other paths answer with its name.
type backend struct {
	name  string
	ready atomic.Bool
	srv   *httptest.Server
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{name: name}
	b.ready.Store(true)
	b.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !b.ready.Load() {
				http.Error(w, "not ready", http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, "ok")
			return
		}
		_, _ = io.WriteString(w, b.name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

func TestBalancer(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	ca := filepath.Join(t.TempDir(), "ca.crt")
	// httptest servers share one certificate, which is its own CA.
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	bal, err := New(Config{Listen: "127.0.0.1:0", Backends: []string{a.addr(), b.addr()}, CAFile: ca, HealthInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- bal.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	// Through the balancer the client still talks TLS to a backend.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: a.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, ServerName: "example.com"},
		DisableKeepAlives: true,
	}}
	get := func() (string, error) {
		resp, err := client.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	answers := func(n int) map[string]int {
		got := map[string]int{}
		for range n {
			body, err := get()
			if err != nil {
				t.Fatalf("GET through the balancer: %v", err)
			}
			got[body]++
		}
		return got
	}
	waitHealthy := func(want int) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
			return len(bal.Healthy()) == want, nil
		})
		if err != nil {
			t.Fatalf("healthy backends %v, want %d", bal.Healthy(), want)
		}
	}

	steps := []struct {
		name   string
		change func()
		want   map[string]int
	}{
		{name: "both ready: round robin", change: func() {}, want: map[string]int{"a": 5, "b": 5}},
		{name: "a not ready: all to b", change: func() { a.ready.Store(false); waitHealthy(1) }, want: map[string]int{"b": 10}},
		{name: "a ready again", change: func() { a.ready.Store(true); waitHealthy(2) }, want: map[string]int{"a": 5, "b": 5}},
		{name: "b gone: all to a", change: func() { b.srv.Close(); waitHealthy(1) }, want: map[string]int{"a": 10}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.change()
			if s.name == "both ready: round robin" {
				waitHealthy(2)
			}
			got := answers(10)
			if len(got) != len(s.want) || got["a"] != s.want["a"] || got["b"] != s.want["b"] {
				t.Errorf("answers %v, want %v", got, s.want)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no listen", Config{Backends: []string{"127.0.0.1:1"}}},
		{"no backends", Config{Listen: "127.0.0.1:0"}},
		{"missing CA", Config{Listen: "127.0.0.1:0", Backends: []string{"127.0.0.1:1"}, CAFile: "/nonexistent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Errorf("New(%+v) succeeded", tc.cfg)
			}
		})
	}
}
