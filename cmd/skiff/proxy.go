package main

import (
	"fmt"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/ebpfproxy/proxy"
)

// newProxyCommand is `skiff proxy`: the node's eBPF Service proxy, which
// watches Services and EndpointSlices and programs cgroup socket hooks.
func newProxyCommand() *cobra.Command {
	var cfg proxy.Config
	var cleanup bool
	return newComponentCommand("proxy", "Run Skiff's eBPF Service proxy (ClusterIP, NodePort; no iptables)", func(fss *cliflag.NamedFlagSets) {
		fs := fss.FlagSet("proxy")
		fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and credentials (empty: in-cluster config).")
		fs.StringVar(&cfg.Master, "master", "", "The address of the API server (overrides any value in the kubeconfig).")
		fs.StringVar(&cfg.NodeName, "hostname-override", "", "The name of this node, as its Node object is named (empty: the hostname).")
		fs.StringVar(&cfg.PinDir, "bpf-pin-dir", proxy.DefaultPinDir, "The directory BPF maps and links are pinned under; bpffs is mounted there if it is not already.")
		fs.StringVar(&cfg.CgroupPath, "cgroup-path", proxy.DefaultCgroupPath, "The cgroup2 directory the socket hooks attach to; processes in it and below are load-balanced.")
		fs.Uint32Var(&cfg.MaglevTableSize, "maglev-table-size", 0, "The number of Maglev slots per service, a prime (0: the default, 16381).")
		fs.DurationVar(&cfg.ConfigSyncPeriod, "config-sync-period", 0, "How often Services and EndpointSlices are replayed from the informer caches (0: 15m).")
		fs.StringVar(&cfg.HealthzBindAddress, "healthz-bind-address", proxy.DefaultHealthzBindAddress, "The host:port /healthz and /livez are served on (empty: none).")
		fs.BoolVar(&cleanup, "cleanup", false, "Detach the socket hooks from --cgroup-path, remove every pin under --bpf-pin-dir, and exit.")
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
}
