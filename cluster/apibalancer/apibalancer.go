package apibalancer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// Config configures a Balancer.
type Config struct {
	// Listen is the host:port connections are accepted on.
	Listen string
	// Backends are the API servers' host:port addresses.
	Backends []string
	// CAFile verifies the backends' serving certificates in health checks.
	CAFile string
	// CertFile and KeyFile, if set, are the client certificate health
	// checks present (any identity may read /readyz; a certificate keeps
	// the check independent of anonymous access being enabled).
	CertFile, KeyFile string
	// HealthInterval is how often each backend's /readyz is fetched
	// (default 1s).
	HealthInterval time.Duration
	// HealthTimeout bounds one health check (default 2s).
	HealthTimeout time.Duration
	// DialTimeout bounds a connection to a backend (default 2s).
	DialTimeout time.Duration
}

// Balancer accepts connections on Config.Listen and splices each to a
// healthy backend, round robin.
type Balancer struct {
	cfg     Config
	client  *http.Client
	healthy []atomic.Bool
	next    atomic.Uint64
}

// New validates and defaults cfg.
func New(cfg Config) (*Balancer, error) {
	if cfg.Listen == "" {
		return nil, errors.New("apibalancer: Listen is required")
	}
	if len(cfg.Backends) == 0 {
		return nil, errors.New("apibalancer: at least one backend is required")
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = time.Second
	}
	if cfg.HealthTimeout == 0 {
		cfg.HealthTimeout = 2 * time.Second
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("apibalancer: read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("apibalancer: %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("apibalancer: load client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	b := &Balancer{
		cfg: cfg,
		client: &http.Client{
			Timeout: cfg.HealthTimeout,
			// A fresh connection per check: a kept-alive one to a killed
			// server would not notice the kill until it times out.
			Transport: &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true},
		},
		healthy: make([]atomic.Bool, len(cfg.Backends)),
	}
	return b, nil
}

// Start listens and serves until ctx ends.
func (b *Balancer) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", b.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", b.cfg.Listen, err)
	}
	return b.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then closes it.
func (b *Balancer) Serve(ctx context.Context, ln net.Listener) error {
	logger := klog.FromContext(ctx)
	logger.Info("Balancing API connections", "listen", ln.Addr().String(), "backends", b.cfg.Backends)
	var wg sync.WaitGroup
	for i := range b.cfg.Backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.check(ctx, i)
		}()
	}
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		go b.splice(ctx, conn)
	}
}

// Healthy lists the backends whose last health check passed.
func (b *Balancer) Healthy() []string {
	var out []string
	for i, be := range b.cfg.Backends {
		if b.healthy[i].Load() {
			out = append(out, be)
		}
	}
	return out
}

// check fetches backend i's /readyz every HealthInterval until ctx ends,
// marking it healthy on 200 and unhealthy on anything else.
func (b *Balancer) check(ctx context.Context, i int) {
	logger := klog.FromContext(ctx).WithValues("backend", b.cfg.Backends[i])
	url := "https://" + b.cfg.Backends[i] + "/readyz"
	t := time.NewTicker(b.cfg.HealthInterval)
	defer t.Stop()
	for {
		ok, why := b.probe(ctx, url)
		if was := b.healthy[i].Swap(ok); was != ok {
			if ok {
				logger.Info("Backend healthy")
			} else {
				logger.Info("Backend unhealthy", "reason", why)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Balancer) probe(ctx context.Context, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return false, resp.Status
	}
	return true, ""
}

// pick returns the backends to try for one connection: the healthy ones
// from the next in turn, then the others (a cold start, or every check
// failing at once, still gets a chance to connect).
func (b *Balancer) pick() []string {
	n := len(b.cfg.Backends)
	start := int(b.next.Add(1) % uint64(n))
	var healthy, rest []string
	for k := range n {
		i := (start + k) % n
		if b.healthy[i].Load() {
			healthy = append(healthy, b.cfg.Backends[i])
		} else {
			rest = append(rest, b.cfg.Backends[i])
		}
	}
	return append(healthy, rest...)
}

func (b *Balancer) splice(ctx context.Context, in net.Conn) {
	defer in.Close()
	logger := klog.FromContext(ctx)
	var out net.Conn
	var errs []error
	d := net.Dialer{Timeout: b.cfg.DialTimeout}
	for _, be := range b.pick() {
		c, err := d.DialContext(ctx, "tcp", be)
		if err == nil {
			out = c
			break
		}
		errs = append(errs, err)
	}
	if out == nil {
		logger.V(1).Info("No backend accepted a connection", "client", in.RemoteAddr().String(), "err", errors.Join(errs...))
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass the half-close on, so the other side sees the end.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	select {
	case <-done:
	case <-ctx.Done():
	}
	// One direction ended: give the other a moment to finish, as a TCP
	// proxy does, then drop both.
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}
