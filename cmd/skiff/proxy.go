package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/ebpfproxy/proxy"
)

// newProxyCommand is `skiff proxy`: the node's eBPF Service proxy, which
// watches Services and EndpointSlices and programs cgroup socket hooks and
// TC programs; `skiff proxy status` reads what it programmed.
func newProxyCommand() *cobra.Command {
	var cfg proxy.Config
	var cleanup bool
	cmd := newComponentCommand("proxy", "Run Skiff's eBPF Service proxy (ClusterIP, NodePort; no iptables)", func(fss *cliflag.NamedFlagSets) {
		fs := fss.FlagSet("proxy")
		fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and credentials (empty: in-cluster config).")
		fs.StringVar(&cfg.Master, "master", "", "The address of the API server (overrides any value in the kubeconfig).")
		fs.StringVar(&cfg.NodeName, "hostname-override", "", "The name of this node, as its Node object is named (empty: the hostname).")
		fs.StringVar(&cfg.PinDir, "bpf-pin-dir", proxy.DefaultPinDir, "The directory BPF maps and links are pinned under; bpffs is mounted there if it is not already.")
		fs.StringVar(&cfg.CgroupPath, "cgroup-path", proxy.DefaultCgroupPath, "The cgroup2 directory the socket hooks attach to; processes in it and below are load-balanced.")
		fs.StringSliceVar(&cfg.Interfaces, "nodeport-interfaces", nil, "The node's interfaces whose ingress gets the TC program that serves NodePorts, externalIPs and load-balancer IPs to other hosts: the ones clients arrive on and the ones backends answer on (empty: local sockets only).")
		fs.Var(newPrefixList(&cfg.ClusterCIDRs), "cluster-cidr", clusterCIDRHelp)
		fs.Uint32Var(&cfg.MaglevTableSize, "maglev-table-size", 0, "The number of Maglev slots per service, a prime (0: the default, 16381).")
		fs.DurationVar(&cfg.ConfigSyncPeriod, "config-sync-period", 0, "How often Services and EndpointSlices are replayed from the informer caches (0: 15m).")
		fs.StringVar(&cfg.HealthzBindAddress, "healthz-bind-address", proxy.DefaultHealthzBindAddress, "The host:port /healthz and /livez are served on (empty: none).")
		fs.DurationVar(&cfg.HealthTimeout, "healthz-timeout", proxy.DefaultHealthTimeout, "How long a change may wait to be programmed before /healthz and /livez fail.")
		fs.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", proxy.DefaultMetricsBindAddress, "The host:port Prometheus /metrics is served on (empty: none).")
		fs.StringVar(&cfg.HealthCheckNodePortHost, "healthcheck-nodeport-address", "", "The address healthCheckNodePorts of externalTrafficPolicy: Local Services are bound on (empty: all).")
		fs.BoolVar(&cleanup, "cleanup", false, "Detach the socket hooks from --cgroup-path and the TC programs, remove every pin under --bpf-pin-dir, and exit.")
	}, func() error {
		if cleanup {
			return proxy.Cleanup(cfg)
		}
		p, err := proxy.New(cfg)
		if err != nil {
			return fmt.Errorf("start proxy: %w", err)
		}
		return p.Start(genericapiserver.SetupSignalContext())
	})
	cmd.AddCommand(newProxyStatusCommand())
	return cmd
}

// newProxyStatusCommand is `skiff proxy status`: what the pinned BPF maps
// hold, whether or not a proxy runs.
func newProxyStatusCommand() *cobra.Command {
	var pinDir string
	cmd := &cobra.Command{
		Use:          "status",
		Short:        "Print the services, backends and counters in the pinned BPF maps (works while no proxy runs)",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return proxy.WriteStatus(cmd.OutOrStdout(), pinDir)
		},
	}
	cmd.Flags().StringVar(&pinDir, "bpffs", proxy.DefaultPinDir, "The directory the proxy pins its maps and links under (its --bpf-pin-dir).")
	return cmd
}

// clusterCIDRHelp describes --cluster-cidr of skiff proxy and skiff join.
const clusterCIDRHelp = "The cluster's pod networks, CIDR[,CIDR] (kube-proxy's flag). Pod egress leaving through " +
	"--nodeport-interfaces to anything but these networks, a Node's address or a Service is masqueraded to the " +
	"interface's node address by a TC egress program, replies translated back (IPv4: TCP, UDP, ICMP echo). " +
	"Empty: no masquerade."

// prefixList is a flag holding comma-separated CIDRs.
type prefixList struct{ p *[]netip.Prefix }

func newPrefixList(p *[]netip.Prefix) prefixList { return prefixList{p} }

func (l prefixList) Type() string { return "CIDRs" }

func (l prefixList) String() string {
	var s []string
	for _, p := range *l.p {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l prefixList) Set(v string) error {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("not a CIDR: %w", err)
		}
		if p != p.Masked() {
			return fmt.Errorf("%s has host bits set (the network is %s)", p, p.Masked())
		}
		out = append(out, p)
	}
	*l.p = out
	return nil
}
