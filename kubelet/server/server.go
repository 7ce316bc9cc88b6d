package server

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
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultAddr                  = ":10250"
	DefaultStreamIdleTimeout     = 4 * time.Hour
	DefaultStreamCreationTimeout = 30 * time.Second
	DefaultAuthnCacheTTL         = 2 * time.Minute
	DefaultAuthzAllowCacheTTL    = 5 * time.Minute
	DefaultAuthzDenyCacheTTL     = 30 * time.Second
	DefaultHousekeepingInterval  = 10 * time.Second
)

// PodSource is the kubelet's view of the pods bound to its node.
type PodSource interface {
	GetPodByName(namespace, name string) (*corev1.Pod, bool)
	GetPods() []*corev1.Pod
}

// Runtime is what the server needs of the container runtime;
// *runtime.Runtime implements it.
type Runtime interface {
	ListPodContainers(ctx context.Context, uid types.UID) ([]*runtime.ContainerStatus, error)
	GetPodSandbox(ctx context.Context, uid types.UID) (*runtime.Sandbox, error)
	Exec(ctx context.Context, containerID string, cmd []string, opts runtime.ExecOptions) (int, error)
	Attach(ctx context.Context, containerID string, opts runtime.AttachOptions) error
	PortForward(ctx context.Context, podUID types.UID, port int32, stream io.ReadWriteCloser) error
	ReadLogs(ctx context.Context, containerID, path string, opts runtime.LogOptions, stdout, stderr io.Writer) error
}

// Config configures the kubelet server.
type Config struct {
	// Addr to listen on (DefaultAddr if empty); ignored with Listener.
	Addr string
	// Listener, when set, is served instead of listening on Addr.
	Listener net.Listener
	// TLSCertFile and TLSKeyFile are the serving certificate. When both
	// are empty a self-signed one is generated in CertDir as
	// kubelet.crt/kubelet.key (kept across restarts), as upstream does.
	TLSCertFile, TLSKeyFile string
	// CertDir holds the generated certificate; required without TLSCertFile.
	CertDir string
	// GetCertificate, when set, gives the serving certificate at every
	// handshake instead (a rotating kubelet-serving certificate, see
	// kubelet/certificate.ServingTLSConfig); TLSCertFile and CertDir are
	// then unused.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// ServingHosts and ServingIPs go into a generated certificate besides
	// NodeName.
	ServingHosts []string
	ServingIPs   []net.IP
	// ClientCAFile verifies client certificates (the API server's, admins').
	// Empty disables certificate authentication.
	ClientCAFile string
	// Client is used for TokenReview and SubjectAccessReview. Nil disables
	// token authentication, and authorization then allows every
	// authenticated user (upstream's AlwaysAllow mode).
	Client kubernetes.Interface
	// AnonymousAuth lets requests without credentials through as
	// system:anonymous (upstream --anonymous-auth; off by default here).
	AnonymousAuth bool
	// APIAudiences are the audiences tokens are reviewed for.
	APIAudiences []string
	// Cache lifetimes of authentication and authorization decisions.
	AuthnCacheTTL, AuthzAllowCacheTTL, AuthzDenyCacheTTL time.Duration
	// NodeName is the node's name: the authorization attributes' name.
	NodeName string
	// Pods are the pods bound to this node.
	Pods PodSource
	// Runtime runs exec, attach, port-forward and reads logs.
	Runtime Runtime
	// StreamIdleTimeout closes idle exec/attach/port-forward streams;
	// StreamCreationTimeout bounds the SPDY stream set-up.
	StreamIdleTimeout, StreamCreationTimeout time.Duration
	// HousekeepingInterval is how often CPU usage is sampled for the
	// usageNanoCores rates.
	HousekeepingInterval time.Duration
}

// Server is the kubelet's HTTPS server.
type Server struct {
	cfg      Config
	tls      *tls.Config
	caFile   *dynamiccertificates.DynamicFileCAContent
	authn    authenticator.Request
	authz    authorizer.Authorizer
	handler  http.Handler
	metrics  *serverMetrics
	stats    *statsCollector
	listener net.Listener
}

// New validates cfg, loads or generates the serving certificate and builds
// the authenticator, authorizer and routes.
func New(cfg Config) (*Server, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("kubelet server: NodeName is required")
	}
	if cfg.Pods == nil || cfg.Runtime == nil {
		return nil, errors.New("kubelet server: Pods and Runtime are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.StreamIdleTimeout == 0 {
		cfg.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if cfg.StreamCreationTimeout == 0 {
		cfg.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	if cfg.AuthnCacheTTL == 0 {
		cfg.AuthnCacheTTL = DefaultAuthnCacheTTL
	}
	if cfg.AuthzAllowCacheTTL == 0 {
		cfg.AuthzAllowCacheTTL = DefaultAuthzAllowCacheTTL
	}
	if cfg.AuthzDenyCacheTTL == 0 {
		cfg.AuthzDenyCacheTTL = DefaultAuthzDenyCacheTTL
	}
	if cfg.HousekeepingInterval == 0 {
		cfg.HousekeepingInterval = DefaultHousekeepingInterval
	}
	s := &Server{cfg: cfg}
	if err := s.setUpTLS(); err != nil {
		return nil, err
	}
	if err := s.setUpAuth(); err != nil {
		return nil, err
	}
	s.metrics = newServerMetrics(s)
	s.stats = newStatsCollector(cfg.NodeName, cfg.Pods, cfg.Runtime)
	s.handler = s.metrics.instrument(s.withAuth(s.routes()))
	return s, nil
}

// setUpTLS loads the serving certificate (generating a self-signed one when
// none is given) and the client CA.
func (s *Server) setUpTLS() error {
	certFile, keyFile := s.cfg.TLSCertFile, s.cfg.TLSKeyFile
	if (certFile == "") != (keyFile == "") {
		return errors.New("kubelet server: TLSCertFile and TLSKeyFile go together")
	}
	s.tls = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Certificates are verified by the x509 authenticator, so that a
		// bad one yields 401 rather than a failed handshake.
		ClientAuth: tls.RequestClientCert,
		NextProtos: []string{"http/1.1"},
	}
	switch {
	case s.cfg.GetCertificate != nil:
		s.tls.GetCertificate = s.cfg.GetCertificate
	case certFile == "":
		if s.cfg.CertDir == "" {
			return errors.New("kubelet server: CertDir is required without TLSCertFile")
		}
		certFile, keyFile = filepath.Join(s.cfg.CertDir, "kubelet.crt"), filepath.Join(s.cfg.CertDir, "kubelet.key")
		if err := ensureSelfSigned(certFile, keyFile, s.cfg.NodeName, s.cfg.ServingHosts, s.cfg.ServingIPs); err != nil {
			return fmt.Errorf("kubelet server: %w", err)
		}
		fallthrough
	default:
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("kubelet server: load serving certificate: %w", err)
		}
		s.tls.Certificates = []tls.Certificate{pair}
	}
	if s.cfg.ClientCAFile != "" {
		ca, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca-bundle", s.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("kubelet server: client CA: %w", err)
		}
		s.caFile = ca
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca.CurrentCABundleContent())
		s.tls.ClientCAs = pool
	}
	return nil
}

// ensureSelfSigned writes a self-signed serving certificate unless one is
// there already.
func ensureSelfSigned(certFile, keyFile, host string, hosts []string, ips []net.IP) error {
	if _, err := os.Stat(certFile); err == nil {
		if _, err := os.Stat(keyFile); err == nil {
			return nil
		}
	}
	alt := append([]string{"localhost"}, hosts...)
	allIPs := append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ips...)
	cert, key, err := certutil.GenerateSelfSignedCertKey(host, allIPs, alt)
	if err != nil {
		return fmt.Errorf("generate self-signed serving certificate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o755); err != nil {
		return fmt.Errorf("create certificate dir: %w", err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", keyFile, err)
	}
	if err := os.WriteFile(certFile, cert, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", certFile, err)
	}
	return nil
}

// Handler is the server's authenticated, instrumented HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is the address being served, once Start has begun listening.
func (s *Server) Addr() net.Addr {
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// Start serves until ctx ends, then shuts down (streams are cut).
func (s *Server) Start(ctx context.Context) error {
	log := klog.FromContext(ctx)
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("kubelet server: listen on %s: %w", s.cfg.Addr, err)
		}
	}
	s.listener = ln
	if s.caFile != nil {
		go s.caFile.Run(ctx, 1)
	}
	go s.stats.housekeep(ctx, s.cfg.HousekeepingInterval)
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          nil,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errC := make(chan error, 1)
	go func() { errC <- srv.Serve(tls.NewListener(ln, s.tls)) }()
	log.Info("Kubelet server listening", "address", ln.Addr().String())
	select {
	case err := <-errC:
		return fmt.Errorf("kubelet server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = srv.Close()
	if err := <-errC; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kubelet server: %w", err)
	}
	return nil
}

// routes maps the kubelet's endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/healthz/{check...}", s.healthz)
	mux.HandleFunc("GET /pods", s.getPods)
	mux.HandleFunc("GET /pods/{$}", s.getPods)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.getContainerLogs)
	for _, p := range []string{"/exec", "/attach"} {
		h := s.getExec
		if p == "/attach" {
			h = s.getAttach
		}
		for _, m := range []string{"GET", "POST"} {
			mux.HandleFunc(m+" "+p+"/{ns}/{pod}/{container}", h)
			mux.HandleFunc(m+" "+p+"/{ns}/{pod}/{uid}/{container}", h)
		}
	}
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /portForward/{ns}/{pod}", s.getPortForward)
		mux.HandleFunc(m+" /portForward/{ns}/{pod}/{uid}", s.getPortForward)
	}
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /metrics/resource", s.getResourceMetrics)
	mux.HandleFunc("GET /stats/summary", s.getSummary)
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if c := r.PathValue("check"); c != "" && c != "ping" && c != "log" && c != "syncloop" {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, "ok")
}

// writeError writes err as a plain-text body, as go-restful's WriteError.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// rootPath is the first path segment, the metrics' path label.
func rootPath(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	switch p {
	case "", "healthz", "pods", "containerLogs", "exec", "attach", "portForward", "metrics", "stats", "run", "logs", "configz", "runningpods":
		if p == "" {
			return "other"
		}
		return p
	}
	return "other"
}

func isLongRunning(path string) bool {
	switch rootPath(path) {
	case "exec", "attach", "portForward":
		return true
	}
	return false
}

var _ Runtime = (*runtime.Runtime)(nil)
