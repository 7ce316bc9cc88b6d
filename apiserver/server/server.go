package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/certs"
	"github.com/skiff-dev/skiff/apiserver/etcd"
)

// Server is Skiff's API server: the kube-aggregator in front of the built-in
// groups in front of apiextensions-apiserver, with embedded etcd unless
// external etcd servers are configured.
type Server struct {
	opts *Options
	// ready is closed once the chain is built and serving has begun.
	ready chan struct{}
	// KubeconfigPath is the admin kubeconfig written in the data dir, if any.
	KubeconfigPath string
}

// New completes and validates opts and returns a server ready to Start.
func New(opts *Options) (*Server, error) {
	if err := opts.Complete(); err != nil {
		return nil, err
	}
	if errs := opts.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := &Server{opts: opts, ready: make(chan struct{})}
	if opts.WriteAdminKubeconfig {
		s.KubeconfigPath = filepath.Join(opts.DataDir, "admin.kubeconfig")
	}
	return s, nil
}

// Start runs the server until ctx ends: it starts embedded etcd if needed,
// prepares certificates, builds the server chain and serves. It returns once
// the server has shut down.
func (s *Server) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	o := s.opts
	started := time.Now()
	// step logs the start-up timeline at V(2), each step with the time
	// since Start began.
	step := func(name string) {
		logger.V(2).Info("Start-up step done", "step", name, "elapsed", time.Since(started))
	}
	endStartupGC := beginStartupGC()
	defer endStartupGC()

	// The secure port is bound before embedded etcd starts: etcd's client
	// and peer listeners take free ports, and must not take the one the API
	// server was asked to serve on.
	if err := s.bindSecurePort(); err != nil {
		return err
	}
	serving := false
	defer func() {
		// Until Run owns it, a failed start releases the port.
		if !serving && o.SecureServing != nil && o.SecureServing.Listener != nil {
			_ = o.SecureServing.Listener.Close()
		}
	}()
	var embedded *etcd.Server
	if len(o.Etcd.StorageConfig.Transport.ServerList) == 0 {
		var err error
		embedded, err = etcd.New(etcd.Config{DataDir: filepath.Join(o.DataDir, "etcd"), UnsafeNoFsync: o.EtcdUnsafeNoFsync})
		if err != nil {
			return err
		}
		etcdCtx, stopEtcd := context.WithCancel(klog.NewContext(context.Background(), logger))
		if err := embedded.Start(etcdCtx); err != nil {
			stopEtcd()
			return err
		}
		// etcd stops after the API server has drained, never before.
		defer func() {
			stopEtcd()
			<-embedded.Done()
		}()
		o.Etcd.StorageConfig.Transport.ServerList = []string{embedded.ClientURL()}
		step("embedded etcd ready")
	}

	if o.WriteAdminKubeconfig {
		if err := s.ensureCredentials(); err != nil {
			return err
		}
		step("credentials")
	}

	chain, err := buildChain(ctx, o, endStartupGC)
	if err != nil {
		return err
	}
	step("server chain built")
	prepared, err := chain.PrepareRun()
	if err != nil {
		return fmt.Errorf("prepare API server: %w", err)
	}
	step("server chain prepared")
	if o.WriteAdminKubeconfig {
		logger.Info("Admin kubeconfig written", "path", s.KubeconfigPath)
	}
	close(s.ready)
	serving = true
	if err := prepared.Run(ctx); err != nil {
		return fmt.Errorf("run API server: %w", err)
	}
	return nil
}

// bindSecurePort creates the secure-serving listener now, unless one was
// given or port sharing was asked for (then k8s.io/apiserver binds it while
// building the chain, with the socket options it needs).
func (s *Server) bindSecurePort() error {
	ss := s.opts.SecureServing
	if ss == nil || ss.Listener != nil || ss.BindPort <= 0 || ss.PermitPortSharing || ss.PermitAddressSharing {
		return nil
	}
	addr := net.JoinHostPort(ss.BindAddress.String(), strconv.Itoa(ss.BindPort))
	ln, port, err := genericoptions.CreateListener(ss.BindNetwork, addr, net.ListenConfig{})
	if err != nil {
		return fmt.Errorf("bind secure port %s: %w", addr, err)
	}
	ss.Listener, ss.BindPort = ln, port
	return nil
}

// Ready is closed once the server has begun serving (which is not yet
// /readyz: poll that).
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ensureCredentials lays out a self-contained PKI in the data dir: a CA that
// signs the serving certificate and the client certificates, the
// service-account signing key, and an admin kubeconfig for system:masters.
func (s *Server) ensureCredentials() error {
	o := s.opts
	pki := o.SecureServing.ServerCert.CertDirectory
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		return err
	}
	hosts := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	ips := []net.IP{netutils.ParseIPSloppy("127.0.0.1"), net.IPv6loopback}
	for _, ip := range []net.IP{o.ServerRun.AdvertiseAddress, o.SecureServing.BindAddress} {
		if ip != nil && !ip.IsUnspecified() {
			ips = append(ips, ip)
		}
	}
	// The `kubernetes` Service's cluster IP, which pods dial, as
	// kube-apiserver adds it to its self-signed certificate.
	if first := strings.Split(o.ServiceClusterIPRange, ",")[0]; first != "" {
		if _, cidr, err := netutils.ParseCIDRSloppy(strings.TrimSpace(first)); err == nil {
			if ip, err := netutils.GetIndexedIP(cidr, 1); err == nil {
				ips = append(ips, ip)
			}
		}
	}
	tls := &o.SecureServing.ServerCert.CertKey
	if tls.CertFile == "" && tls.KeyFile == "" {
		tls.CertFile, tls.KeyFile = filepath.Join(pki, "apiserver.crt"), filepath.Join(pki, "apiserver.key")
		if err := ca.EnsureServing(tls.CertFile, tls.KeyFile, "skiff-apiserver", hosts, ips); err != nil {
			return err
		}
	}
	if o.Authentication.ClientCert.ClientCA == "" {
		o.Authentication.ClientCert.ClientCA = ca.CertFile
	}
	adminCert, adminKey := filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key")
	if err := ca.EnsureClient(adminCert, adminKey, "skiff-admin", []string{"system:masters"}); err != nil {
		return err
	}
	// The API server's client certificate at kubelets (logs, exec,
	// port-forward, nodes/proxy), as kubeadm makes apiserver-kubelet-client.
	if o.KubeletClientCertificate == "" && o.KubeletClientKey == "" {
		o.KubeletClientCertificate, o.KubeletClientKey = filepath.Join(pki, "apiserver-kubelet-client.crt"), filepath.Join(pki, "apiserver-kubelet-client.key")
		if err := ca.EnsureClient(o.KubeletClientCertificate, o.KubeletClientKey, "kube-apiserver-kubelet-client", []string{"system:masters"}); err != nil {
			return err
		}
	}
	a := &o.Authentication
	if a.ServiceAccountSigningKeyFile == "" {
		a.ServiceAccountSigningKeyFile = filepath.Join(pki, "sa.key")
		if err := certs.EnsureKey(a.ServiceAccountSigningKeyFile); err != nil {
			return err
		}
		if len(a.ServiceAccountKeyFiles) == 0 {
			pub := filepath.Join(pki, "sa.pub")
			if err := certs.EnsurePublicKey(a.ServiceAccountSigningKeyFile, pub); err != nil {
				return err
			}
			a.ServiceAccountKeyFiles = []string{pub}
		}
	}
	if len(a.ServiceAccountIssuers) == 0 {
		a.ServiceAccountIssuers = []string{"https://kubernetes.default.svc.cluster.local"}
	}
	if len(a.APIAudiences) == 0 {
		a.APIAudiences = []string{a.ServiceAccountIssuers[0]}
	}
	if err := certs.WriteKubeconfig(s.KubeconfigPath, "skiff", s.URL(), ca.CertFile, adminCert, adminKey); err != nil {
		return err
	}
	if !o.WriteComponentKubeconfigs {
		return nil
	}
	for _, c := range componentIdentities {
		cert, key := filepath.Join(pki, c.file+".crt"), filepath.Join(pki, c.file+".key")
		if err := ca.EnsureClient(cert, key, c.user, c.groups); err != nil {
			return err
		}
		if err := certs.WriteKubeconfig(s.ComponentKubeconfigPath(c.file), "skiff", s.URL(), ca.CertFile, cert, key); err != nil {
			return err
		}
	}
	return nil
}

// componentIdentities are the users `skiff server`'s components act as.
// The controller manager does not yet act per controller with
// service-account credentials (kube-controller-manager's
// --use-service-account-credentials), so it is in system:masters; the
// scheduler has only the system:kube-scheduler role.
var componentIdentities = []struct {
	file, user string
	groups     []string
}{
	{file: "controller-manager", user: "system:kube-controller-manager", groups: []string{"system:masters"}},
	{file: "scheduler", user: "system:kube-scheduler"},
}

// ComponentKubeconfigPath is where WriteComponentKubeconfigs writes the
// kubeconfig of component ("controller-manager" or "scheduler").
func (s *Server) ComponentKubeconfigPath(component string) string {
	return filepath.Join(s.opts.DataDir, component+".kubeconfig")
}

// PKIDir is the directory of the server's CA, certificates and keys.
func (s *Server) PKIDir() string { return s.opts.SecureServing.ServerCert.CertDirectory }

// URL returns the https URL clients on this host reach the server at.
func (s *Server) URL() string {
	host := "127.0.0.1"
	if ip := s.opts.SecureServing.BindAddress; ip != nil && !ip.IsUnspecified() {
		host = ip.String()
	}
	port := s.opts.SecureServing.BindPort
	if l := s.opts.SecureServing.Listener; l != nil {
		if _, p, err := net.SplitHostPort(l.Addr().String()); err == nil {
			port, _ = strconv.Atoi(p)
		}
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port))
}
