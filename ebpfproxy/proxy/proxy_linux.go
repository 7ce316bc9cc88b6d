//go:build linux

package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/datasource"
	"github.com/skiff-dev/skiff/ebpfproxy/reconciler"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// Proxy is one node's Service proxy: informers → tables → BPF maps.
type Proxy struct {
	cfg       Config
	tables    *tables.Tables
	source    *datasource.Source
	rec       *reconciler.Reconciler
	health    *proxyHealth
	metrics   *metrics
	svcHealth *serviceHealth
	healthLn  net.Listener
	metricsLn net.Listener

	closeOnce sync.Once
	closeErr  error
}

// syncObserver feeds reconciler syncs to health and metrics.
type syncObserver struct{ p *Proxy }

func (o syncObserver) Synced(start time.Time, d time.Duration, full bool, st reconciler.SyncStats, services, backends int, err error) {
	if err == nil {
		o.p.health.updated(start)
	}
	o.p.metrics.observeSync(d, services, backends, err)
}

// New connects the client, loads and attaches the BPF programs (adopting
// pinned maps and links, whose datapath keeps working untouched until the
// first sync) and binds the health and metrics ports. Start runs it; Close
// releases it if Start is never called.
func New(cfg Config) (*Proxy, error) {
	if cfg.Logger.GetSink() == nil {
		cfg.Logger = klog.Background()
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		cfg.NodeName = strings.ToLower(strings.TrimSpace(h))
	}
	restCfg := cfg.RESTConfig
	if restCfg == nil {
		c, err := clientcmd.BuildConfigFromFlags(cfg.Master, cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig: %w", err)
		}
		restCfg = c
	}
	restCfg = rest.CopyConfig(restCfg)
	if restCfg.UserAgent == "" {
		restCfg.UserAgent = "skiff-proxy"
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	t := tables.New(tables.Node{Name: cfg.NodeName})
	p := &Proxy{
		cfg:    cfg,
		tables: t,
		source: datasource.NewSource(client, t, cfg.NodeName, cfg.ConfigSyncPeriod),
		health: newProxyHealth(cfg.HealthTimeout),
	}
	if len(cfg.ClusterCIDRs) > 0 {
		p.source.WatchAllNodes()
	}
	t.OnChange(p.health.queued)
	p.metrics = newMetrics(p.counters)
	if !cfg.DisableHealthCheckNodePorts {
		p.svcHealth = newServiceHealth(cfg.HealthCheckNodePortHost, t, func() bool { ok, _ := p.health.healthy(); return ok })
	}
	fail := func(err error) (*Proxy, error) {
		for _, ln := range []net.Listener{p.healthLn, p.metricsLn} {
			if ln != nil {
				ln.Close()
			}
		}
		return nil, err
	}
	if cfg.HealthzBindAddress != "" {
		if p.healthLn, err = net.Listen("tcp", cfg.HealthzBindAddress); err != nil {
			return fail(fmt.Errorf("listen for health checks on %s: %w", cfg.HealthzBindAddress, err))
		}
	}
	if cfg.MetricsBindAddress != "" {
		if p.metricsLn, err = net.Listen("tcp", cfg.MetricsBindAddress); err != nil {
			return fail(fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsBindAddress, err))
		}
	}
	p.rec, err = reconciler.New(reconciler.Config{
		Tables:          t,
		PinDir:          cfg.PinDir,
		CgroupPath:      cfg.CgroupPath,
		Interfaces:      cfg.Interfaces,
		ClusterCIDRs:    cfg.ClusterCIDRs,
		NetNS:           cfg.NetNS,
		MaglevTableSize: cfg.MaglevTableSize,
		Sizes:           cfg.MapSizes.toBPF(),
		ResyncPeriod:    cfg.MapResyncPeriod,
		Observer:        syncObserver{p},
		Logger:          cfg.Logger,
	})
	if err != nil {
		return fail(fmt.Errorf("start BPF datapath: %w", err))
	}
	return p, nil
}

func (p *Proxy) counters() ([]counter, error) {
	cs, err := p.rec.Counters()
	out := make([]counter, len(cs))
	for i, c := range cs {
		out[i] = counter{key: c.Key, translated: c.Translated, refused: c.Refused}
	}
	return out, err
}

// HealthzAddr is the address /healthz is served on, nil if none.
func (p *Proxy) HealthzAddr() net.Addr {
	if p.healthLn == nil {
		return nil
	}
	return p.healthLn.Addr()
}

// MetricsAddr is the address /metrics is served on, nil if none.
func (p *Proxy) MetricsAddr() net.Addr {
	if p.metricsLn == nil {
		return nil
	}
	return p.metricsLn.Addr()
}

// HealthCheckNodePortAddr is where the healthCheckNodePort port is
// served, nil if it is not (yet).
func (p *Proxy) HealthCheckNodePortAddr(port uint16) net.Addr {
	if p.svcHealth == nil {
		return nil
	}
	return p.svcHealth.addr(port)
}

// Tables is the proxy's desired state.
func (p *Proxy) Tables() *tables.Tables { return p.tables }

// Dump describes what the BPF maps hold.
func (p *Proxy) Dump() (*reconciler.Snapshot, error) { return p.rec.Dump() }

// Healthy reports what /healthz reports: the informers' content has been
// programmed and no change has waited longer than the health timeout.
func (p *Proxy) Healthy() bool {
	ok, _ := p.health.healthy()
	return ok
}

// Start runs the informers, waits until they have synced, programs the maps
// from them and keeps them programmed, and serves health checks and
// metrics, until ctx ends or a part fails. It closes the proxy before
// returning; pinned maps and links stay, so the datapath keeps working and
// a new proxy adopts them. It returns nil when ctx ends.
func (p *Proxy) Start(ctx context.Context) error {
	log := klog.FromContext(ctx)
	defer p.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			} else if ctx.Err() == nil {
				cancel(fmt.Errorf("%s stopped", name))
			}
		}()
	}
	serve := func(name string, ln net.Listener, h http.Handler) {
		if ln == nil {
			return
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			srv.Close()
		}()
		run(name, func(context.Context) error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		log.Info("Serving "+name, "address", ln.Addr().String())
	}
	serve("health checks", p.healthLn, p.health.handler())
	serve("metrics", p.metricsLn, p.metrics.handler())
	run("datasource", p.source.Run)

	select {
	case <-p.source.Synced():
	case <-ctx.Done():
		return p.exitErr(ctx)
	}
	// The first sync from complete tables replaces what was adopted; retry
	// it until it works so /healthz only turns ok once the maps are right.
	err := wait.ExponentialBackoffWithContext(ctx, wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 1 << 30, Cap: 30 * time.Second},
		func(ctx context.Context) (bool, error) {
			st, err := p.rec.Sync(ctx)
			if err != nil {
				log.Error(err, "Initial sync of BPF maps failed; retrying")
				return false, nil
			}
			log.Info("Programmed Services", "services", len(p.tables.Services()), "changes", st.Changes())
			return true, nil
		})
	if err != nil {
		return p.exitErr(ctx)
	}
	run("reconciler", p.rec.Start)
	if p.svcHealth != nil {
		run("service health checks", p.svcHealth.run)
	}

	<-ctx.Done()
	return p.exitErr(ctx)
}

// exitErr is nil when the caller's context ended, else why a part stopped.
func (p *Proxy) exitErr(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Close releases the BPF objects this process holds (pins stay) and the
// health and metrics ports.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		for _, ln := range []net.Listener{p.healthLn, p.metricsLn} {
			if ln == nil {
				continue
			}
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		errs = append(errs, p.rec.Close())
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// Cleanup detaches the socket hooks on cfg's cgroup and the TC programs,
// and removes every pin under cfg's pin dir, as kube-proxy --cleanup
// removes its rules. The datapath stops translating; established
// connections are unaffected.
func Cleanup(cfg Config) error {
	r, err := reconciler.New(reconciler.Config{
		Tables:          tables.New(tables.Node{}),
		PinDir:          cfg.PinDir,
		CgroupPath:      cfg.CgroupPath,
		Interfaces:      cfg.Interfaces,
		NetNS:           cfg.NetNS,
		MaglevTableSize: cfg.MaglevTableSize,
		Sizes:           cfg.MapSizes.toBPF(),
		Logger:          cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("open BPF datapath: %w", err)
	}
	if err := r.Uninstall(); err != nil {
		return fmt.Errorf("remove BPF datapath: %w", err)
	}
	return nil
}

func (s MapSizes) toBPF() bpf.Sizes {
	return bpf.Sizes{Services: s.Services, Backends: s.Backends, Affinity: s.Affinity, RevNat: s.RevNat, Conntrack: s.Conntrack}
}
