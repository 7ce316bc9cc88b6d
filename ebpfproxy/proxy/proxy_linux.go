//go:build linux

package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
	cfg      Config
	tables   *tables.Tables
	source   *datasource.Source
	rec      *reconciler.Reconciler
	healthLn net.Listener

	// lastSync is the unix nano time of the first successful sync after
	// the informers synced; zero until then.
	lastSync  atomic.Int64
	closeOnce sync.Once
	closeErr  error
}

// New connects the client, loads and attaches the BPF programs (adopting
// pinned maps and links, whose datapath keeps working untouched until the
// first sync) and binds the health port. Start runs it; Close releases it
// if Start is never called.
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
	}
	if cfg.HealthzBindAddress != "" {
		ln, err := net.Listen("tcp", cfg.HealthzBindAddress)
		if err != nil {
			return nil, fmt.Errorf("listen for health checks on %s: %w", cfg.HealthzBindAddress, err)
		}
		p.healthLn = ln
	}
	p.rec, err = reconciler.New(reconciler.Config{
		Tables:          t,
		PinDir:          cfg.PinDir,
		CgroupPath:      cfg.CgroupPath,
		MaglevTableSize: cfg.MaglevTableSize,
		Sizes:           cfg.MapSizes.toBPF(),
		ResyncPeriod:    cfg.MapResyncPeriod,
		Logger:          cfg.Logger,
	})
	if err != nil {
		if p.healthLn != nil {
			p.healthLn.Close()
		}
		return nil, fmt.Errorf("start BPF datapath: %w", err)
	}
	return p, nil
}

// HealthzAddr is the address /healthz is served on, nil if none.
func (p *Proxy) HealthzAddr() net.Addr {
	if p.healthLn == nil {
		return nil
	}
	return p.healthLn.Addr()
}

// Tables is the proxy's desired state.
func (p *Proxy) Tables() *tables.Tables { return p.tables }

// Dump describes what the BPF maps hold.
func (p *Proxy) Dump() (*reconciler.Snapshot, error) { return p.rec.Dump() }

// Healthy reports whether the informers have synced and their content has
// been programmed once.
func (p *Proxy) Healthy() bool { return p.lastSync.Load() != 0 }

// Start runs the informers, waits until they have synced, programs the maps
// from them and keeps them programmed, and serves health checks, until ctx
// ends or a part fails. It closes the proxy before returning; pinned maps
// and links stay, so the datapath keeps working and a new proxy adopts
// them. It returns nil when ctx ends.
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
	if p.healthLn != nil {
		srv := &http.Server{Handler: p.healthHandler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			srv.Close()
		}()
		run("health server", func(context.Context) error {
			if err := srv.Serve(p.healthLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		log.Info("Serving health checks", "address", p.healthLn.Addr().String())
	}
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
	p.lastSync.Store(time.Now().UnixNano())
	run("reconciler", p.rec.Start)

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
// health port.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		if p.healthLn != nil {
			if err := p.healthLn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		errs = append(errs, p.rec.Close())
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// healthHandler answers /healthz and /livez as kube-proxy does: 200 with
// the last update time once the proxy is programmed, 503 before.
func (p *Proxy) healthHandler() http.Handler {
	mux := http.NewServeMux()
	h := func(w http.ResponseWriter, r *http.Request) {
		last := p.lastSync.Load()
		body := struct {
			LastUpdated string `json:"lastUpdated"`
			CurrentTime string `json:"currentTime"`
		}{CurrentTime: time.Now().UTC().Format(time.RFC3339Nano)}
		if last != 0 {
			body.LastUpdated = time.Unix(0, last).UTC().Format(time.RFC3339Nano)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if last == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		} else {
			w.WriteHeader(http.StatusOK)
		}
		json.NewEncoder(w).Encode(body)
	}
	mux.HandleFunc("/healthz", h)
	mux.HandleFunc("/livez", h)
	return mux
}

// Cleanup detaches the socket hooks on cfg's cgroup and removes every pin
// under cfg's pin dir, as kube-proxy --cleanup removes its rules. The
// datapath stops translating; established connections are unaffected.
func Cleanup(cfg Config) error {
	r, err := reconciler.New(reconciler.Config{
		Tables:          tables.New(tables.Node{}),
		PinDir:          cfg.PinDir,
		CgroupPath:      cfg.CgroupPath,
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
	return bpf.Sizes{Services: s.Services, Backends: s.Backends, Affinity: s.Affinity, RevNat: s.RevNat}
}
