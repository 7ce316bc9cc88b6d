package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"

	skiffdns "github.com/skiff-dev/skiff/dns"
	"github.com/skiff-dev/skiff/dns/endpoints"
)

// newDNSCommand is `skiff dns`: the cluster DNS server, answering
// <service>.<namespace>.svc.<domain> and friends from the API and
// forwarding other names upstream.
func newDNSCommand() *cobra.Command {
	var (
		cfg                     skiffdns.Config
		kubeconfig, master      string
		healthPort, metricsPort int
		ttl                     uint32
		nodeName                string
	)
	return newComponentCommand("dns", "Run Skiff's cluster DNS server (the Kubernetes DNS schema, as CoreDNS's kubernetes plugin answers it)", func(fss *cliflag.NamedFlagSets) {
		fs := fss.FlagSet("client")
		fs.StringVar(&kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and credentials (empty: in-cluster config).")
		fs.StringVar(&master, "master", "", "The address of the API server (overrides any value in the kubeconfig).")
		fs = fss.FlagSet("dns")
		fs.StringVar(&cfg.ClusterDomain, "cluster-domain", skiffdns.DefaultClusterDomain, "The zone answered from Services and EndpointSlices.")
		fs.StringVar(&cfg.ListenAddress, "listen", skiffdns.DefaultListenAddress, "The host:port DNS is served on, over UDP and TCP.")
		fs.IntVar(&healthPort, "health-port", 8080, "The port of /health (liveness) and /ready (readiness once the informers have synced); 0 for none.")
		fs.IntVar(&metricsPort, "metrics-port", 9153, "The port of Prometheus /metrics; 0 for none.")
		fs.StringSliceVar(&cfg.Upstreams, "upstream", nil, "Resolvers (host or host:port) names outside the cluster domain are forwarded to, in order (empty: the nameservers of --resolv-conf).")
		fs.StringVar(&cfg.ResolvConf, "resolv-conf", skiffdns.DefaultResolvConf, "The resolv.conf the upstream resolvers are read from when --upstream is empty.")
		fs.DurationVar(&cfg.ForwardTimeout, "forward-timeout", skiffdns.DefaultForwardTimeout, "How long one upstream is waited for before the next is tried; when all have timed out the client gets SERVFAIL.")
		fs.Uint32Var(&ttl, "ttl", skiffdns.DefaultTTL, "The TTL, in seconds, of cluster records and of negative answers.")
		fs.StringVar(&cfg.DNSService, "dns-service", "kube-system/kube-dns", "The namespace/name of the Service clients reach this server through; its cluster IPs answer ns.dns.<cluster-domain>.")
		fs.StringVar(&nodeName, "node-name", "", "The node this server runs on, outside any pod. When set, the server publishes its --listen address in an EndpointSlice of --dns-service named <service>-<node>, ready while it serves and its Node is Ready, marks other such servers' endpoints not ready while their Nodes are not, and deletes its slice when it stops (empty: publish nothing).")
	}, func() error {
		restCfg, err := clientcmd.BuildConfigFromFlags(master, kubeconfig)
		if err != nil {
			return fmt.Errorf("--kubeconfig/--master: %w", err)
		}
		cfg.RESTConfig = restCfg
		cfg.TTL = ttl
		cfg.HealthAddress, cfg.MetricsAddress = portAddress(healthPort), portAddress(metricsPort)
		s, err := skiffdns.New(cfg)
		if err != nil {
			return err
		}
		ctx := genericapiserver.SetupSignalContext()
		if nodeName == "" {
			return s.Start(ctx)
		}
		pub, err := newDNSPublisher(restCfg, cfg, nodeName, s.Ready)
		if err != nil {
			return err
		}
		// The slice goes when the server stops: wait for its removal.
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); pub.Run(ctx) }()
		err = s.Start(ctx)
		cancel()
		<-done
		return err
	})
}

// portAddress is ":port" on every interface, or "-" (none) for port 0.
func portAddress(port int) string {
	if port == 0 {
		return "-"
	}
	return ":" + strconv.Itoa(port)
}

// newDNSPublisher keeps the EndpointSlice of a DNS server that runs on a
// node rather than in a pod.
func newDNSPublisher(restCfg *rest.Config, cfg skiffdns.Config, nodeName string, serving func() bool) (*endpoints.Publisher, error) {
	host, _, err := net.SplitHostPort(cfg.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", cfg.ListenAddress, err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("--node-name needs --listen on a specific IP, not %q", cfg.ListenAddress)
	}
	ns, name, ok := strings.Cut(cfg.DNSService, "/")
	if !ok {
		return nil, fmt.Errorf("--dns-service %q: want namespace/name", cfg.DNSService)
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return endpoints.New(endpoints.Config{Client: client, Namespace: ns, Service: name, NodeName: nodeName, Address: addr, Serving: serving})
}
