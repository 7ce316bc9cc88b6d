package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// serviceHealth answers the healthCheckNodePorts of externalTrafficPolicy:
// Local services, as kube-proxy's service health servers do: each port
// says whether this node has a ready endpoint of its service, so an
// external load balancer only sends traffic to nodes that keep it.
type serviceHealth struct {
	// host is the address the ports are bound on; empty means all.
	host    string
	tables  *tables.Tables
	proxyOK func() bool

	mu      sync.Mutex
	servers map[uint16]*hcServer
	changed chan struct{}
}

type hcServer struct {
	srv *http.Server
	ln  net.Listener
	// state is the service and its local endpoint count.
	mu    sync.Mutex
	state tables.HealthCheck
}

func newServiceHealth(host string, t *tables.Tables, proxyOK func() bool) *serviceHealth {
	h := &serviceHealth{host: host, tables: t, proxyOK: proxyOK, servers: map[uint16]*hcServer{}, changed: make(chan struct{}, 1)}
	t.OnChange(func() {
		select {
		case h.changed <- struct{}{}:
		default:
		}
	})
	return h
}

// run keeps one server per healthCheckNodePort until ctx ends. A port that
// cannot be bound is logged and retried on the next change or after a
// while.
func (h *serviceHealth) run(ctx context.Context) error {
	log := klog.FromContext(ctx)
	retry := time.NewTicker(10 * time.Second)
	defer retry.Stop()
	defer h.closeAll()
	for {
		h.sync(log)
		select {
		case <-ctx.Done():
			return nil
		case <-h.changed:
		case <-retry.C:
		}
	}
}

func (h *serviceHealth) sync(log klog.Logger) {
	want := map[uint16]tables.HealthCheck{}
	for _, hc := range h.tables.HealthChecks() {
		if prev, dup := want[hc.Port]; dup {
			log.Info("Skipping healthCheckNodePort claimed twice", "port", hc.Port, "service", hc.Service, "keptFor", prev.Service)
			continue
		}
		want[hc.Port] = hc
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		if _, ok := want[port]; !ok {
			s.srv.Close()
			delete(h.servers, port)
			log.V(2).Info("Stopped health check server", "port", port)
		}
	}
	for port, hc := range want {
		s, ok := h.servers[port]
		if !ok {
			ln, err := net.Listen("tcp", net.JoinHostPort(h.host, strconv.Itoa(int(port))))
			if err != nil {
				log.Error(err, "Cannot serve healthCheckNodePort; will retry", "service", hc.Service, "port", port)
				continue
			}
			s = &hcServer{ln: ln}
			s.srv = &http.Server{Handler: h.handler(s), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					log.Error(err, "Health check server failed", "port", port)
				}
			}()
			h.servers[port] = s
			log.V(2).Info("Serving healthCheckNodePort", "service", hc.Service, "port", port)
		}
		s.mu.Lock()
		s.state = hc
		s.mu.Unlock()
	}
}

func (h *serviceHealth) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		s.srv.Close()
		delete(h.servers, port)
	}
}

// addr is where a port is served, for tests; nil if it is not.
func (h *serviceHealth) addr(port uint16) net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.servers[port]; ok {
		return s.ln.Addr()
	}
	return nil
}

// hcBody is kube-proxy's service health response.
type hcBody struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints      int  `json:"localEndpoints"`
	ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
}

func (h *serviceHealth) handler(s *hcServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		hc := s.state
		s.mu.Unlock()
		healthy := h.proxyOK()
		var body hcBody
		body.Service.Namespace, body.Service.Name = hc.Service.Namespace, hc.Service.Name
		body.LocalEndpoints = hc.LocalEndpoints
		body.ServiceProxyHealthy = healthy
		out, err := json.MarshalIndent(body, "", "\t")
		if err != nil {
			http.Error(w, fmt.Sprintf("encode: %v", err), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(hc.LocalEndpoints))
		if hc.LocalEndpoints != 0 && healthy {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write(out)
	})
}
