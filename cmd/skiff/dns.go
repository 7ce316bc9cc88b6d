package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"

	skiffdns "github.com/skiff-dev/skiff/dns"
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
		return s.Start(genericapiserver.SetupSignalContext())
	})
}

// portAddress is ":port" on every interface, or "-" (none) for port 0.
func portAddress(port int) string {
	if port == 0 {
		return "-"
	}
	return ":" + strconv.Itoa(port)
}
