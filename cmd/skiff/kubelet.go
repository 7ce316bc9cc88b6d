package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/kubelet"
	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// newKubeletCommand is `skiff kubelet`: the node agent, which registers the
// node and runs the pods bound to it on containerd.
func newKubeletCommand() *cobra.Command {
	var cfg kubelet.Config
	var nodeIPs []string
	var clusterDNS []string
	var labels map[string]string
	reserved := cliflag.ConfigurationMap{}
	address, port := "0.0.0.0", int32(10250)
	return newComponentCommand("kubelet", "Run Skiff's node agent (pods on containerd, node and pod status)", func(fss *cliflag.NamedFlagSets) {
		fs := fss.FlagSet("kubelet")
		fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and the node's credentials.")
		fs.StringVar(&cfg.NodeName, "node-name", "", "The name of this node's Node object.")
		fs.StringVar(&cfg.DataDir, "data-dir", "/var/lib/skiff/kubelet", "The directory for containerd state, pod directories, logs and pod network state.")
		fs.StringVar(&cfg.ContainerdAddress, "containerd-address", "", "The socket of a running containerd (empty: start a Skiff-owned containerd under --data-dir).")
		fs.StringVar(&cfg.CgroupRoot, "cgroup-root", runtime.DefaultCgroupRoot, "The parent cgroup (cgroupfs) of all pod cgroups.")
		fs.StringVar(&cfg.PodCIDR, "pod-cidr", "", "The range pod IPs are allocated from (empty: wait for the Node's spec.podCIDR).")
		fs.StringVar(&cfg.BridgeName, "bridge-name", "", "The Linux bridge pods attach to (empty: skiff0).")
		fs.StringSliceVar(&clusterDNS, "cluster-dns", nil, "Comma-separated DNS server IPs for ClusterFirst pods.")
		fs.StringVar(&cfg.ClusterDomain, "cluster-domain", runtime.DefaultClusterDomain, "The cluster's DNS domain.")
		fs.StringVar(&cfg.ResolvConf, "resolv-conf", "/etc/resolv.conf", "The resolver configuration Default-DNS pods inherit (empty: none).")
		fs.StringSliceVar(&nodeIPs, "node-ip", nil, "The node's IP address(es), at most one per family (empty: discovered).")
		fs.StringToStringVar(&labels, "node-labels", nil, "Labels added to the Node at registration (key=value,...).")
		fs.Var(&reserved, "kube-reserved", "Resources reserved for system components, e.g. cpu=100m,memory=256Mi.")
		fs.IntVar(&cfg.MaxPods, "max-pods", 110, "The number of pods this node can run.")
		fs.StringVar(&address, "address", address, "The IP address the kubelet's HTTPS server listens on.")
		fs.Int32Var(&port, "port", port, "The port of the kubelet's HTTPS server (logs, exec, attach, port-forward, stats); 0 runs none.")
		fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "The server's certificate (empty: a self-signed one under --data-dir/pki).")
		fs.StringVar(&cfg.TLSKeyFile, "tls-private-key-file", "", "The key of --tls-cert-file.")
		fs.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA bundle verifying client certificates at the server (empty: the CA the kubeconfig trusts).")
		fs.DurationVar(&cfg.NodeStatusUpdateFrequency, "node-status-update-frequency", 0, "How often node status is computed (0: 10s).")
	}, func() error {
		cfg.ClusterDNS, cfg.NodeLabels = clusterDNS, labels
		if port < 0 || port > 65535 {
			return fmt.Errorf("--port: %d is not a port number", port)
		}
		if port > 0 {
			cfg.ServerAddress, cfg.ServerPort = net.JoinHostPort(address, fmt.Sprint(port)), port
		}
		for _, s := range nodeIPs {
			ip := net.ParseIP(s)
			if ip == nil {
				return fmt.Errorf("--node-ip: %q is not an IP address", s)
			}
			cfg.NodeIPs = append(cfg.NodeIPs, ip)
		}
		if len(reserved) > 0 {
			cfg.KubeReserved = corev1.ResourceList{}
			for k, v := range reserved {
				q, err := resource.ParseQuantity(v)
				if err != nil {
					return fmt.Errorf("--kube-reserved %s=%s: %w", k, v, err)
				}
				cfg.KubeReserved[corev1.ResourceName(k)] = q
			}
		}
		k, err := kubelet.New(cfg)
		if err != nil {
			return fmt.Errorf("start kubelet: %w", err)
		}
		return k.Start(genericapiserver.SetupSignalContext())
	})
}
