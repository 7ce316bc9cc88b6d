package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/kubelet"
	"github.com/skiff-dev/skiff/kubelet/crilog"
	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// kubeletFlags are `skiff kubelet`'s flags; `skiff join` shares the node and
// runtime ones.
type kubeletFlags struct {
	cfg        kubelet.Config
	nodeIPs    []string
	clusterDNS []string
	labels     map[string]string
	reserved   cliflag.ConfigurationMap
	address    string
	port       int32
}

func newKubeletFlags() *kubeletFlags {
	return &kubeletFlags{reserved: cliflag.ConfigurationMap{}, address: "0.0.0.0", port: 10250}
}

// addNodeFlags: who the node is and where its state lives.
func (f *kubeletFlags) addNodeFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.NodeName, "node-name", "", "The name of this node's Node object.")
	fs.StringVar(&f.cfg.DataDir, "data-dir", "/var/lib/skiff/kubelet", "The directory for containerd state, pod directories, logs and pod network state.")
	fs.StringSliceVar(&f.nodeIPs, "node-ip", nil, "The node's IP address(es), at most one per family (empty: discovered).")
	fs.StringVar(&f.cfg.PodNetworkRoutes, "pod-network-routes", "none", "How pods of other nodes are reached: none (routes are someone else's job), auto (host-gw to nodes on a shared subnet, VXLAN to others), host-gw or vxlan. Routes go via the interface holding the node IP and follow the Node objects (the node's group needs to watch all Nodes: skiff join's RBAC grants it).")
}

// addCredentialFlags: the node's kubeconfig and TLS bootstrap.
func (f *kubeletFlags) addCredentialFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and the node's credentials; with --bootstrap-kubeconfig it is written once the node has a client certificate.")
	fs.StringVar(&f.cfg.BootstrapKubeconfig, "bootstrap-kubeconfig", "", "Path to a kubeconfig with a bootstrap token, used to request the node's client certificate (CSR, signer kubernetes.io/kube-apiserver-client-kubelet) while --kubeconfig has no valid one.")
	fs.StringVar(&f.cfg.CertDir, "cert-dir", "", "The directory of the node's client and serving certificates (empty: --data-dir/pki).")
	fs.BoolVar(&f.cfg.RotateCertificates, "rotate-certificates", false, "Renew the client certificate with a CSR before it expires.")
	fs.BoolVar(&f.cfg.RotateServerCertificates, "rotate-server-certificates", false, "Get the server's certificate from a kubernetes.io/kubelet-serving CSR for the node's addresses, and renew it, instead of a self-signed one.")
}

// addRuntimeFlags: pods, their network and the kubelet's server.
func (f *kubeletFlags) addRuntimeFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.ContainerdAddress, "containerd-address", "", "The socket of a running containerd (empty: start a Skiff-owned containerd under --data-dir).")
	fs.StringVar(&f.cfg.CRILogger, "cri-logger", "", "The container log writer the containerd shim starts for each container (writes its stdout/stderr in the CRI log format; built as skiff-cri-logger). Empty: skiff-cri-logger in the skiff executable's directory, else the skiff executable itself.")
	fs.StringVar(&f.cfg.CgroupRoot, "cgroup-root", runtime.DefaultCgroupRoot, "The parent cgroup (cgroupfs) of all pod cgroups; its and its ancestors' cpu and memory limits cap the node's capacity.")
	fs.StringVar(&f.cfg.PodCIDR, "pod-cidr", "", "The range pod IPs are allocated from (empty: wait for the Node's spec.podCIDR).")
	fs.StringVar(&f.cfg.BridgeName, "bridge-name", "", "The Linux bridge pods attach to (empty: skiff0).")
	fs.StringSliceVar(&f.clusterDNS, "cluster-dns", nil, "Comma-separated DNS server IPs for ClusterFirst pods.")
	fs.StringVar(&f.cfg.ClusterDomain, "cluster-domain", runtime.DefaultClusterDomain, "The cluster's DNS domain.")
	fs.StringVar(&f.cfg.ResolvConf, "resolv-conf", "/etc/resolv.conf", "The resolver configuration Default-DNS pods inherit (empty: none).")
	fs.StringToStringVar(&f.labels, "node-labels", nil, "Labels added to the Node at registration (key=value,...).")
	fs.Var(&f.reserved, "kube-reserved", "Resources reserved for system components, e.g. cpu=100m,memory=256Mi.")
	fs.IntVar(&f.cfg.MaxPods, "max-pods", 110, "The number of pods this node can run.")
	fs.StringVar(&f.address, "address", f.address, "The IP address the kubelet's HTTPS server listens on.")
	fs.Int32Var(&f.port, "port", f.port, "The port of the kubelet's HTTPS server (logs, exec, attach, port-forward, stats); 0 runs none.")
	fs.StringVar(&f.cfg.TLSCertFile, "tls-cert-file", "", "The server's certificate (empty: a self-signed one under --cert-dir, or one from a CSR with --rotate-server-certificates).")
	fs.StringVar(&f.cfg.TLSKeyFile, "tls-private-key-file", "", "The key of --tls-cert-file.")
	fs.StringVar(&f.cfg.ClientCAFile, "client-ca-file", "", "CA bundle verifying client certificates at the server (empty: the CA the kubeconfig trusts).")
	fs.DurationVar(&f.cfg.NodeStatusUpdateFrequency, "node-status-update-frequency", 0, "How often node status is computed (0: 10s).")
}

// config checks and converts the flags.
func (f *kubeletFlags) config() (kubelet.Config, error) {
	cfg := f.cfg
	cfg.ClusterDNS, cfg.NodeLabels = f.clusterDNS, f.labels
	if cfg.CRILogger != "" {
		p, _, err := crilog.Binary(cfg.CRILogger)
		if err != nil {
			return cfg, fmt.Errorf("--cri-logger: %w", err)
		}
		cfg.CRILogger = p
	}
	if f.port < 0 || f.port > 65535 {
		return cfg, fmt.Errorf("--port: %d is not a port number", f.port)
	}
	if f.port > 0 {
		cfg.ServerAddress, cfg.ServerPort = net.JoinHostPort(f.address, fmt.Sprint(f.port)), f.port
	}
	for _, s := range f.nodeIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return cfg, fmt.Errorf("--node-ip: %q is not an IP address", s)
		}
		cfg.NodeIPs = append(cfg.NodeIPs, ip)
	}
	if len(f.reserved) > 0 {
		cfg.KubeReserved = corev1.ResourceList{}
		for k, v := range f.reserved {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return cfg, fmt.Errorf("--kube-reserved %s=%s: %w", k, v, err)
			}
			cfg.KubeReserved[corev1.ResourceName(k)] = q
		}
	}
	return cfg, nil
}

// newKubeletCommand is `skiff kubelet`: the node agent, which registers the
// node and runs the pods bound to it on containerd.
func newKubeletCommand() *cobra.Command {
	f := newKubeletFlags()
	return newComponentCommand("kubelet", "Run Skiff's node agent (pods on containerd, node and pod status)", func(fss *cliflag.NamedFlagSets) {
		fs := fss.FlagSet("kubelet")
		f.addCredentialFlags(fs)
		f.addNodeFlags(fs)
		f.addRuntimeFlags(fs)
	}, func() error {
		cfg, err := f.config()
		if err != nil {
			return err
		}
		k, err := kubelet.New(cfg)
		if err != nil {
			return fmt.Errorf("start kubelet: %w", err)
		}
		return k.Start(genericapiserver.SetupSignalContext())
	})
}
