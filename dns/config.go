package dns

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Defaults of Config.
const (
	DefaultClusterDomain  = "cluster.local"
	DefaultListenAddress  = "0.0.0.0:53"
	DefaultHealthAddress  = ":8080"
	DefaultMetricsAddress = ":9153"
	DefaultResolvConf     = "/etc/resolv.conf"
	DefaultTTL            = 5
	DefaultForwardTimeout = 2 * time.Second
	// SchemaVersion is the version of the Kubernetes DNS schema served at
	// dns-version.<zone> TXT, as CoreDNS reports it.
	SchemaVersion = "1.1.0"
)

// Config configures a Server. The zero value of every field but the client
// means its default.
type Config struct {
	// Client reads Services, EndpointSlices and Namespaces. When nil, one
	// is built from RESTConfig.
	Client kubernetes.Interface
	// RESTConfig is the API server and credentials, used when Client is nil.
	RESTConfig *rest.Config

	// ClusterDomain is the zone answered from the API (default cluster.local).
	ClusterDomain string
	// ListenAddress is the host:port served over both UDP and TCP (default
	// 0.0.0.0:53). Port 0 picks one port free for both protocols.
	ListenAddress string
	// HealthAddress serves /health (liveness) and /ready (readiness once the
	// informers have synced); "-" means none (default :8080).
	HealthAddress string
	// MetricsAddress serves Prometheus /metrics; "-" means none (default
	// :9153). It may equal HealthAddress, in which case one server serves
	// both.
	MetricsAddress string

	// Upstreams are the host:port resolvers names outside the cluster
	// domain go to, tried in order. When empty they are read from
	// ResolvConf.
	Upstreams []string
	// ResolvConf is the resolv.conf Upstreams default from (default
	// /etc/resolv.conf).
	ResolvConf string
	// ForwardTimeout bounds one exchange with one upstream (default 2s); the
	// whole forward is bounded by ForwardTimeout times the number of
	// upstreams, after which the client gets SERVFAIL.
	ForwardTimeout time.Duration

	// TTL is the TTL of the cluster records and the negative-answer TTL of
	// the SOA (default 5 seconds).
	TTL uint32
	// DNSService is the namespace/name of the Service the DNS server is
	// reached through; its cluster IPs answer ns.dns.<zone> (default
	// kube-system/kube-dns).
	DNSService string
	// ResyncPeriod is the informers' resync period (0: none).
	ResyncPeriod time.Duration
}

// complete validates c and fills in the defaults.
func (c Config) complete() (Config, error) {
	var errs []error
	if c.Client == nil && c.RESTConfig == nil {
		errs = append(errs, errors.New("a Client or a RESTConfig is required"))
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = DefaultClusterDomain
	}
	c.ClusterDomain = strings.ToLower(strings.TrimSuffix(c.ClusterDomain, "."))
	if _, ok := dns.IsDomainName(c.ClusterDomain); !ok || c.ClusterDomain == "" {
		errs = append(errs, fmt.Errorf("cluster domain %q is not a domain name", c.ClusterDomain))
	}
	if c.ListenAddress == "" {
		c.ListenAddress = DefaultListenAddress
	}
	if err := checkHostPort(c.ListenAddress); err != nil {
		errs = append(errs, fmt.Errorf("listen address: %w", err))
	}
	if c.HealthAddress == "" {
		c.HealthAddress = DefaultHealthAddress
	}
	if c.HealthAddress != "-" {
		if err := checkHostPort(c.HealthAddress); err != nil {
			errs = append(errs, fmt.Errorf("health address: %w", err))
		}
	}
	if c.MetricsAddress == "" {
		c.MetricsAddress = DefaultMetricsAddress
	}
	if c.MetricsAddress != "-" {
		if err := checkHostPort(c.MetricsAddress); err != nil {
			errs = append(errs, fmt.Errorf("metrics address: %w", err))
		}
	}
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
	if len(c.Upstreams) == 0 {
		ups, err := upstreamsFromResolvConf(c.ResolvConf)
		if err != nil {
			errs = append(errs, err)
		}
		c.Upstreams = ups
	}
	for i, u := range c.Upstreams {
		if _, _, err := net.SplitHostPort(u); err != nil {
			u = net.JoinHostPort(u, "53")
			c.Upstreams[i] = u
		}
		if err := checkHostPort(u); err != nil {
			errs = append(errs, fmt.Errorf("upstream: %w", err))
		}
	}
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = DefaultForwardTimeout
	}
	if c.ForwardTimeout < 0 {
		errs = append(errs, fmt.Errorf("forward timeout %s is negative", c.ForwardTimeout))
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.DNSService == "" {
		c.DNSService = "kube-system/kube-dns"
	}
	if ns, name, ok := strings.Cut(c.DNSService, "/"); !ok || ns == "" || name == "" {
		errs = append(errs, fmt.Errorf("DNS service %q is not namespace/name", c.DNSService))
	}
	return c, errors.Join(errs...)
}

func checkHostPort(hp string) error {
	_, port, err := net.SplitHostPort(hp)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", hp, port)
	}
	return nil
}

// upstreamsFromResolvConf lists the nameservers of a resolv.conf as host:port.
func upstreamsFromResolvConf(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read upstream resolvers from %s: %w", path, err)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read upstream resolvers from %s: no nameserver lines", path)
	}
	return out, nil
}
