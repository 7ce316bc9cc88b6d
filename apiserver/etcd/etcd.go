package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/klog/v2"
)

// Config configures an embedded single-member etcd.
type Config struct {
	// DataDir holds the member's WAL and snapshots; created if missing.
	DataDir string
	// Name is the member name; "default" if empty.
	Name string
	// ClientURL is where clients connect. Port 0 picks a free port; the
	// chosen one is in Server.ClientURL. Empty means 127.0.0.1:0.
	ClientURL string
	// PeerURL is the peer listener; empty means 127.0.0.1:0.
	PeerURL string
	// UnsafeNoFsync skips fsync: for tests only, a crash can lose writes.
	UnsafeNoFsync bool
	// QuotaBackendBytes caps the backend size; 0 means etcd's default.
	QuotaBackendBytes int64
	// StartTimeout bounds the wait for the member to become ready.
	StartTimeout time.Duration
}

// Server is a running embedded etcd.
type Server struct {
	cfg  Config
	etcd *embed.Etcd
	done chan struct{}
}

// New validates and defaults cfg.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("etcd: DataDir is required")
	}
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.ClientURL == "" {
		cfg.ClientURL = "http://127.0.0.1:0"
	}
	if cfg.PeerURL == "" {
		cfg.PeerURL = "http://127.0.0.1:0"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	return &Server{cfg: cfg, done: make(chan struct{})}, nil
}

// Start starts etcd and returns once it serves clients. The server stops
// when ctx ends; Done is closed once it has fully stopped and released its
// ports and files.
func (s *Server) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("etcd")
	clientURL, err := url.Parse(s.cfg.ClientURL)
	if err != nil {
		return fmt.Errorf("parse etcd client URL %q: %w", s.cfg.ClientURL, err)
	}
	peerURL, err := url.Parse(s.cfg.PeerURL)
	if err != nil {
		return fmt.Errorf("parse etcd peer URL %q: %w", s.cfg.PeerURL, err)
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create etcd data dir: %w", err)
	}

	c := embed.NewConfig()
	c.Name = s.cfg.Name
	c.Dir = s.cfg.DataDir
	c.LogLevel = "error"
	c.ListenClientUrls = []url.URL{*clientURL}
	c.AdvertiseClientUrls = []url.URL{*clientURL}
	c.ListenPeerUrls = []url.URL{*peerURL}
	c.AdvertisePeerUrls = []url.URL{*peerURL}
	c.InitialCluster = c.InitialClusterFromName(c.Name)
	c.UnsafeNoFsync = s.cfg.UnsafeNoFsync
	if s.cfg.QuotaBackendBytes > 0 {
		c.QuotaBackendBytes = s.cfg.QuotaBackendBytes
	}
	// The API server compacts etcd itself (every 5 minutes, as upstream), and
	// relies on progress notifications for watch bookmarks on idle resources.
	c.WatchProgressNotifyInterval = 5 * time.Second
	// No metrics or health listener beyond the client one.
	c.ListenMetricsUrls = nil
	// A single member has no peers to lose contact with, so the election
	// timeout only delays its first election: with etcd's defaults (100 ms
	// ticks, 1 s election) a fresh member took ~0.57 s to be ready, with
	// these ~0.08 s (BenchmarkStart). A 20 ms tick is 50 cheap wake-ups a
	// second when idle.
	c.TickMs, c.ElectionMs = 20, 200

	e, err := embed.StartEtcd(c)
	if err != nil {
		return fmt.Errorf("start embedded etcd in %s: %w", s.cfg.DataDir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("embedded etcd failed while starting: %w", err)
	case <-time.After(s.cfg.StartTimeout):
		e.Close()
		return fmt.Errorf("embedded etcd in %s not ready after %s", s.cfg.DataDir, s.cfg.StartTimeout)
	case <-ctx.Done():
		e.Close()
		return ctx.Err()
	}
	s.etcd = e
	logger.V(1).Info("Embedded etcd ready", "dataDir", s.cfg.DataDir, "clientURL", s.ClientURL())
	go func() {
		defer close(s.done)
		select {
		case <-ctx.Done():
		case err := <-e.Err():
			logger.Error(err, "Embedded etcd stopped")
		}
		e.Close()
	}()
	return nil
}

// ClientURL returns the URL clients reach the started server at, with the
// port the listener actually has.
func (s *Server) ClientURL() string {
	if s.etcd == nil || len(s.etcd.Clients) == 0 {
		return s.cfg.ClientURL
	}
	return "http://" + s.etcd.Clients[0].Addr().String()
}

// Done is closed once a started server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }
