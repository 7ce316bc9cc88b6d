package certificate

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"
	"k8s.io/client-go/util/connrotation"
	"k8s.io/klog/v2"
)

// NewClientManager returns the manager that keeps the node's client
// certificate (CertDir/kubelet-client-current.pem, written by Bootstrap)
// fresh: once Started it requests a new one at 70-90% of the current one's
// lifetime, with the current certificate (approved as selfnodeclient), or
// with the bootstrap kubeconfig when the current one has expired. It stops
// when ctx ends.
func NewClientManager(ctx context.Context, c Config) (certificate.Manager, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("kubelet client certificate manager: %w", err)
	}
	log := klog.FromContext(ctx).WithValues("node", c.NodeName)
	// A kubeconfig whose certificate and key are files elsewhere (not
	// written by Bootstrap) seeds the store, as upstream's kubelet does.
	var certFile, keyFile string
	if cfg, err := loadKubeconfig(c.KubeconfigPath); err == nil && cfg.CertFile != "" && cfg.KeyFile != "" {
		certFile, keyFile = cfg.CertFile, cfg.KeyFile
	}
	store, err := certificate.NewFileStoreWithLogger(log.V(1), ClientPairName, c.CertDir, c.CertDir, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate store in %s: %w", c.CertDir, err)
	}
	clientsetFn := func(current *tls.Certificate) (kubernetes.Interface, error) {
		if current != nil {
			cfg, err := loadKubeconfig(c.KubeconfigPath)
			if err != nil {
				return nil, err
			}
			if cfg, err = withCertificate(cfg, current); err != nil {
				return nil, err
			}
			return kubernetes.NewForConfig(cfg)
		}
		if c.BootstrapKubeconfig == "" {
			return nil, errors.New("the client certificate has expired and there is no bootstrap kubeconfig")
		}
		cfg, err := loadKubeconfig(c.BootstrapKubeconfig)
		if err != nil {
			return nil, err
		}
		return kubernetes.NewForConfig(cfg)
	}
	m, err := certificate.NewManager(&certificate.Config{
		ClientsetFn:                  clientsetFn,
		Template:                     clientTemplate(c.NodeName),
		SignerName:                   certificatesv1.KubeAPIServerClientKubeletSignerName,
		GetUsages:                    certificate.DefaultKubeletClientGetUsages,
		RequestedCertificateLifetime: c.lifetime(),
		CertificateStore:             store,
		Name:                         ClientPairName,
		Ctx:                          &ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate manager: %w", err)
	}
	return m, nil
}

// withCertificate is cfg authenticating with cert, whatever files its own
// client certificate is read from.
func withCertificate(cfg *rest.Config, cert *tls.Certificate) (*rest.Config, error) {
	out, tlsCfg, err := serverOnly(cfg)
	if err != nil {
		return nil, err
	}
	tlsCfg.Certificates = []tls.Certificate{*cert}
	out.Transport = utilnet.SetTransportDefaults(&http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment})
	return out, nil
}

// serverOnly splits cfg into a config without credentials or TLS settings
// and the TLS config that trusts cfg's CA, for a caller's own transport.
func serverOnly(cfg *rest.Config) (*rest.Config, *tls.Config, error) {
	anon := rest.AnonymousClientConfig(cfg)
	anon.TLSClientConfig.CertData, anon.TLSClientConfig.KeyData = nil, nil
	anon.TLSClientConfig.CertFile, anon.TLSClientConfig.KeyFile = "", ""
	tlsCfg, err := rest.TLSConfigFor(anon)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS config for %s: %w", cfg.Host, err)
	}
	if tlsCfg == nil {
		return nil, nil, fmt.Errorf("%s is not an https server", cfg.Host)
	}
	anon.TLSClientConfig = rest.TLSClientConfig{}
	return anon, tlsCfg, nil
}

// RotationCheckInterval is how often ClientConfig's connections look for a
// rotated certificate.
const RotationCheckInterval = 5 * time.Second

// ClientConfig returns a client config for the node: the server and CA of
// kubeconfigPath, and the client manager's current certificate, taken at
// every TLS handshake. When the manager's certificate changes, open
// connections are closed so that new ones present the new certificate
// (upstream's kubelet does the same). It stops watching when ctx ends.
func ClientConfig(ctx context.Context, kubeconfigPath string, m certificate.Manager) (*rest.Config, error) {
	base, err := loadKubeconfig(kubeconfigPath)
	if err != nil {
		return nil, err
	}
	out, tlsCfg, err := serverOnly(base)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfigPath, err)
	}
	tlsCfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert := m.Current(); cert != nil {
			return cert, nil
		}
		// No certificate: the server will answer 401.
		return &tls.Certificate{}, nil
	}
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	last := m.Current()
	go wait.UntilWithContext(ctx, func(context.Context) {
		if cur := m.Current(); cur != last {
			last = cur
			klog.FromContext(ctx).V(1).Info("Client certificate rotated, closing connections")
			dialer.CloseAll()
		}
	}, RotationCheckInterval)
	out.Transport = utilnet.SetTransportDefaults(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsCfg,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 25,
	})
	return out, nil
}

// ServingConfig configures the kubelet's serving certificate.
type ServingConfig struct {
	// Client is the node's own client config (system:node:<NodeName>).
	Client *rest.Config
	// CertDir holds kubelet-server-current.pem.
	CertDir string
	// NodeName is the certificate's subject: system:node:<NodeName>.
	NodeName string
	// Addresses returns the node's current addresses; their host names
	// and IPs are the certificate's SANs, and a change of them requests a
	// new certificate. Returning none postpones the request.
	Addresses func() []corev1.NodeAddress
	// CertificateLifetime, when set, is asked of the signer.
	CertificateLifetime time.Duration
}

// NewServingManager returns the manager of the kubelet's serving
// certificate for port 10250 (kubernetes.io/kubelet-serving signer, SANs the
// node's addresses), kept in CertDir/kubelet-server-current.pem. Once
// Started it requests one as soon as Addresses returns any, again when they
// change, and before expiry. It stops when ctx ends.
func NewServingManager(ctx context.Context, c ServingConfig) (certificate.Manager, error) {
	if c.Client == nil || c.CertDir == "" || c.NodeName == "" || c.Addresses == nil {
		return nil, errors.New("kubelet serving certificate manager: Client, CertDir, NodeName and Addresses are required")
	}
	if err := os.MkdirAll(c.CertDir, 0o700); err != nil {
		return nil, fmt.Errorf("kubelet serving certificate manager: create %s: %w", c.CertDir, err)
	}
	log := klog.FromContext(ctx).WithValues("node", c.NodeName)
	store, err := certificate.NewFileStoreWithLogger(log.V(1), ServingPairName, c.CertDir, c.CertDir, "", "")
	if err != nil {
		return nil, fmt.Errorf("kubelet serving certificate store in %s: %w", c.CertDir, err)
	}
	var lifetime *time.Duration
	if c.CertificateLifetime > 0 {
		lifetime = &c.CertificateLifetime
	}
	m, err := certificate.NewManager(&certificate.Config{
		ClientsetFn: func(*tls.Certificate) (kubernetes.Interface, error) { return kubernetes.NewForConfig(c.Client) },
		GetTemplate: func() *x509.CertificateRequest { return ServingTemplate(c.NodeName, c.Addresses()) },
		SignerName:  certificatesv1.KubeletServingSignerName,
		GetUsages: func(key any) []certificatesv1.KeyUsage {
			if _, ok := key.(*rsa.PrivateKey); ok {
				return []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
			}
			return []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
		},
		RequestedCertificateLifetime: lifetime,
		CertificateStore:             store,
		Name:                         ServingPairName,
		Ctx:                          &ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("kubelet serving certificate manager: %w", err)
	}
	return m, nil
}

// ServingTemplate is the serving certificate request of node for its
// addresses: host names (Hostname, InternalDNS, ExternalDNS) as DNS SANs,
// InternalIP and ExternalIP as IP SANs, each once. It is nil without any.
func ServingTemplate(node string, addresses []corev1.NodeAddress) *x509.CertificateRequest {
	var dns []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, a := range addresses {
		if seen[a.Address] {
			continue
		}
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			dns = append(dns, a.Address)
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			ip := net.ParseIP(a.Address)
			if ip == nil {
				continue
			}
			ips = append(ips, ip)
		default:
			continue
		}
		seen[a.Address] = true
	}
	if len(dns) == 0 && len(ips) == 0 {
		return nil
	}
	return &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: nodeUserPrefix + node, Organization: []string{nodesGroup}},
		DNSNames:    dns,
		IPAddresses: ips,
	}
}

// ServingTLSConfig is the TLS config of the kubelet's server: the serving
// manager's current certificate at every handshake.
func ServingTLSConfig(m certificate.Manager) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert := m.Current(); cert != nil {
				return cert, nil
			}
			return nil, errors.New("no serving certificate available for the kubelet yet")
		},
	}
}
