package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// maxCNAMEChain bounds how many in-zone ExternalName CNAMEs one answer follows.
const maxCNAMEChain = 8

// Server is the cluster DNS server.
type Server struct {
	cfg     Config
	store   *store
	zone    *zone
	fwd     *forwarder
	metrics *metrics

	listening chan struct{}
	synced    chan struct{}
	// baseCtx bounds forwarded exchanges; set by Start before serving.
	baseCtx context.Context
	logger  klog.Logger

	mu                               sync.Mutex
	dnsAddr, healthAddr, metricsAddr string
}

// New validates cfg, fills in its defaults and builds a Server; nothing
// listens or watches before Start.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.complete()
	if err != nil {
		return nil, fmt.Errorf("dns config: %w", err)
	}
	client := cfg.Client
	if client == nil {
		rc := *cfg.RESTConfig
		if rc.UserAgent == "" {
			rc.UserAgent = "skiff-dns"
		}
		if rc.ContentType == "" {
			rc.ContentType = "application/vnd.kubernetes.protobuf"
		}
		if client, err = kubernetes.NewForConfig(&rc); err != nil {
			return nil, fmt.Errorf("dns: build API client: %w", err)
		}
	}
	st, err := newStore(client, cfg.ResyncPeriod)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	m := newMetrics()
	dnsNS, dnsName, _ := strings.Cut(cfg.DNSService, "/")
	return &Server{
		cfg:       cfg,
		store:     st,
		zone:      &zone{origin: dns.Fqdn(cfg.ClusterDomain), ttl: cfg.TTL, store: st, dnsSvcNS: dnsNS, dnsSvcName: dnsName},
		fwd:       newForwarder(cfg.Upstreams, cfg.ForwardTimeout, m),
		metrics:   m,
		listening: make(chan struct{}),
		synced:    make(chan struct{}),
		baseCtx:   context.Background(),
		logger:    klog.Background(),
	}, nil
}

// Listening is closed once Start has bound its sockets; Addr, HealthAddr
// and MetricsAddr are then set.
func (s *Server) Listening() <-chan struct{} { return s.listening }

// Synced is closed once the informers have synced and cluster names are
// answered.
func (s *Server) Synced() <-chan struct{} { return s.synced }

// Ready tells whether the informers have synced.
func (s *Server) Ready() bool {
	select {
	case <-s.synced:
		return true
	default:
		return false
	}
}

// Addr is the host:port DNS is served on over UDP and TCP.
func (s *Server) Addr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.dnsAddr }

// HealthAddr is the host:port of /health and /ready ("" when none).
func (s *Server) HealthAddr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.healthAddr }

// MetricsAddr is the host:port of /metrics ("" when none).
func (s *Server) MetricsAddr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.metricsAddr }

// Gatherer gives the Server's metrics.
func (s *Server) Gatherer() prometheus.Gatherer { return s.metrics.registry }

// Start binds the DNS, health and metrics sockets, starts the informers and
// serves until ctx ends or a listener fails. Cluster names get SERVFAIL
// until the informers have synced; forwarding works from the start.
func (s *Server) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("dns")
	ctx, cancel := context.WithCancel(klog.NewContext(ctx, logger))
	defer cancel()
	s.baseCtx, s.logger = ctx, logger

	pc, ln, err := listenUDPAndTCP(s.cfg.ListenAddress)
	if err != nil {
		return err
	}
	var httpServers []*http.Server
	var httpListeners []net.Listener
	closeAll := func() {
		pc.Close()
		ln.Close()
		for _, l := range httpListeners {
			l.Close()
		}
	}
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if m, ok := muxes[addr]; ok {
			return m
		}
		m := http.NewServeMux()
		muxes[addr] = m
		l, lerr := net.Listen("tcp", addr)
		if lerr != nil {
			err = errors.Join(err, fmt.Errorf("listen on %s: %w", addr, lerr))
			return m
		}
		httpListeners = append(httpListeners, l)
		httpServers = append(httpServers, &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second})
		return m
	}
	var healthL, metricsL string
	if a := s.cfg.HealthAddress; a != "-" {
		m := mux(a)
		m.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
		m.HandleFunc("/ready", s.serveReady)
		if len(httpListeners) > 0 {
			healthL = httpListeners[len(httpListeners)-1].Addr().String()
		}
	}
	if a := s.cfg.MetricsAddress; a != "-" {
		if a == s.cfg.HealthAddress {
			metricsL = healthL
		}
		m := mux(a)
		m.Handle("/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
		if metricsL == "" && len(httpListeners) > 0 {
			metricsL = httpListeners[len(httpListeners)-1].Addr().String()
		}
	}
	if err != nil {
		closeAll()
		return err
	}
	s.mu.Lock()
	s.dnsAddr, s.healthAddr, s.metricsAddr = ln.Addr().String(), healthL, metricsL
	s.mu.Unlock()
	close(s.listening)
	logger.Info("Serving DNS", "address", s.dnsAddr, "zone", s.zone.origin, "upstreams", s.cfg.Upstreams,
		"healthAddress", healthL, "metricsAddress", metricsL)

	errCh := make(chan error, 2+len(httpServers))
	udp := &dns.Server{PacketConn: pc, Handler: s, UDPSize: dns.MaxMsgSize}
	tcp := &dns.Server{Listener: ln, Handler: s, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	serve := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errCh <- fmt.Errorf("serve %s: %w", name, err)
			}
		}()
	}
	serve("DNS over UDP", udp.ActivateAndServe)
	serve("DNS over TCP", tcp.ActivateAndServe)
	for i, hs := range httpServers {
		l := httpListeners[i]
		serve("HTTP on "+l.Addr().String(), func() error {
			if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if s.store.run(ctx) {
			close(s.synced)
			logger.Info("Informers synced; answering the cluster domain")
		}
	}()

	select {
	case <-ctx.Done():
	case err = <-errCh:
		logger.Error(err, "DNS server failed")
	}
	cancel()
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = udp.ShutdownContext(shutdownCtx)
	_ = tcp.ShutdownContext(shutdownCtx)
	for _, hs := range httpServers {
		_ = hs.Shutdown(shutdownCtx)
	}
	closeAll()
	s.store.shutdown()
	wg.Wait()
	return err
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !s.Ready() {
		http.Error(w, "informers have not synced", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "OK")
}

// listenUDPAndTCP binds addr over UDP and TCP; port 0 is one port free for both.
func listenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen on %s/udp: %w", addr, err)
		}
		tcpAddr := addr
		if port == "0" {
			tcpAddr = net.JoinHostPort(host, fmt.Sprint(pc.LocalAddr().(*net.UDPAddr).Port))
		}
		ln, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 20 {
			return nil, nil, fmt.Errorf("listen on %s/tcp: %w", tcpAddr, err)
		}
	}
}

// ServeDNS answers one request; it implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	proto := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	resp, source := s.respond(req, proto == "tcp")
	if opt := req.IsEdns0(); opt != nil && resp.IsEdns0() == nil {
		resp.SetEdns0(uint16(clientBufSize(req)), opt.Do())
	}
	if proto == "udp" {
		resp.Truncate(clientBufSize(req))
	} else {
		resp.Truncate(dns.MaxMsgSize)
	}
	if err := w.WriteMsg(resp); err != nil {
		s.logger.V(1).Info("Cannot write a DNS response", "remote", w.RemoteAddr().String(), "err", err)
	}
	qtype := uint16(0)
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	s.metrics.requests.WithLabelValues(proto, typeLabel(qtype), dns.RcodeToString[resp.Rcode]).Inc()
	s.metrics.duration.WithLabelValues(proto, source).Observe(time.Since(start).Seconds())
}

// clientBufSize is the UDP payload size the client can take: its EDNS0
// buffer size, at least 512 and at most 4096.
func clientBufSize(req *dns.Msg) int {
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(size, min(int(opt.UDPSize()), 4096))
	}
	return size
}

// respond builds the response to req and says who answered it.
func (s *Server) respond(req *dns.Msg, overTCP bool) (*dns.Msg, string) {
	resp := new(dns.Msg)
	if req.Opcode != dns.OpcodeQuery {
		return resp.SetRcode(req, dns.RcodeNotImplemented), "cluster"
	}
	if len(req.Question) != 1 {
		return resp.SetRcodeFormatError(req), "cluster"
	}
	q := req.Question[0]
	qname := strings.ToLower(q.Name)
	if s.zone.inZone(qname) {
		return s.respondZone(req, qname), "cluster"
	}
	if q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY {
		if strings.HasSuffix(qname, ".arpa.") && s.Ready() {
			if a, ok := s.zone.lookupReverse(qname, q.Qtype); ok {
				return s.build(req, a, nil), "cluster"
			}
		}
	}
	r, err := s.fwd.exchange(s.baseCtx, req, overTCP)
	if err != nil {
		s.logger.V(1).Info("Cannot forward a DNS question", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
		return resp.SetRcode(req, dns.RcodeServerFailure), "forward"
	}
	return r, "forward"
}

// respondZone answers a question in the cluster domain.
func (s *Server) respondZone(req *dns.Msg, qname string) *dns.Msg {
	q := req.Question[0]
	resp := new(dns.Msg)
	switch {
	case !s.Ready():
		return resp.SetRcode(req, dns.RcodeServerFailure)
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		return resp.SetRcode(req, dns.RcodeRefused)
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		return resp.SetRcode(req, dns.RcodeRefused)
	}
	a := s.zone.lookup(qname, q.Qtype)
	var chased []dns.RR
	targetMissing := false
	target := a.external
	for i := 0; target != "" && i < maxCNAMEChain; i++ {
		if !s.zone.inZone(target) {
			chased = append(chased, s.resolveExternal(target, q.Qtype)...)
			break
		}
		next := s.zone.lookup(target, q.Qtype)
		chased = append(chased, next.rrs...)
		targetMissing = !next.exists
		target = next.external
	}
	resp = s.build(req, a, chased)
	if targetMissing {
		// The rcode is the last name's in the chain (RFC 6604).
		resp.Rcode = dns.RcodeNameError
		resp.Ns = []dns.RR{s.zone.soa()}
	}
	return resp
}

// resolveExternal asks the upstreams for name's records of qtype, to follow
// an ExternalName CNAME; a failure gives none (the client can follow the
// CNAME itself).
func (s *Server) resolveExternal(name string, qtype uint16) []dns.RR {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(dns.DefaultMsgSize, false)
	r, err := s.fwd.exchange(s.baseCtx, m, false)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		return nil
	}
	return r.Answer
}

// build makes an authoritative response of a, keeping the question's
// spelling in the owner names.
func (s *Server) build(req *dns.Msg, a answer, chased []dns.RR) *dns.Msg {
	q := req.Question[0]
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	resp.Compress = true
	for _, rr := range a.rrs {
		if h := rr.Header(); strings.EqualFold(h.Name, q.Name) {
			h.Name = q.Name
		}
	}
	resp.Answer = append(a.rrs, chased...)
	resp.Extra = a.extra
	if !a.exists {
		resp.Rcode = dns.RcodeNameError
	}
	if len(resp.Answer) == 0 {
		resp.Ns = []dns.RR{s.zone.soa()}
	}
	return resp
}
