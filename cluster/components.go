package cluster

import (
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skiff-dev/skiff/cluster/daemon"
	"github.com/skiff-dev/skiff/internal/cgroups"
)

// Component names, as they appear in logs, pid files and `skiff status`.
const (
	componentServer  = "server"
	componentDNS     = "dns"
	componentKubelet = "kubelet"
	componentProxy   = "proxy"
)

// zoneLabel is the well-known topology.kubernetes.io/zone label.
const zoneLabel = "topology.kubernetes.io/zone"

// Ports on each node's own address.
const (
	kubeletPort      = 10250
	proxyHealthzPort = 10256
	dnsHealthPort    = 8080
	dnsMetricsPort   = 9153
)

// components are the daemons node runs, in start order.
func (c *Cluster) components(n *node) []string {
	if n.controlPlane() && c.ha() {
		return []string{componentEtcd, componentServer, componentDNS, componentKubelet, componentProxy}
	}
	if n.controlPlane() {
		return []string{componentServer, componentDNS, componentKubelet, componentProxy}
	}
	return []string{componentKubelet, componentProxy}
}

// pinDir is where the node's proxy pins its maps and links: the proxy
// mounts a bpffs of its own there, which Down unmounts with the node's
// other mounts (freeing the pins).
func (c *Cluster) pinDir(n *node) string { return n.path("bpf") }

func (c *Cluster) kubeletKubeconfig(n *node) string { return n.path("kubelet.kubeconfig") }
func (c *Cluster) bootstrapKubeconfig(n *node) string {
	return n.path("bootstrap-kubelet.kubeconfig")
}
func (c *Cluster) kubeletDataDir(n *node) string { return n.path("kubelet") }

// spec is the daemon spec of one component of node n.
func (c *Cluster) spec(mounts []cgroups.Mount, n *node, component string) (daemon.Spec, error) {
	ip := n.ips[0].String()
	var args []string
	// marker is an argument only this daemon has, to recognise it by
	// (pids are reused) even when a later Skiff adds flags.
	var marker string
	switch component {
	case componentEtcd:
		args = c.etcdArgs(n)
		marker = n.path("etcd")
	case componentServer:
		dataDir := n.path("server")
		args = []string{"server",
			"--data-dir", dataDir,
			"--bind-address", ip,
			"--advertise-address", ip,
			"--secure-port", fmt.Sprint(c.cfg.Networking.APIServerPort),
			"--service-cluster-ip-range", c.cfg.Networking.ServiceSubnet,
			"--cluster-cidr", c.cfg.Networking.PodSubnet,
			"--node-cidr-mask-size", fmt.Sprint(c.nodeMaskSize()),
			// Every node's serving certificate comes from a kubelet-serving
			// CSR signed by the cluster CA, so the API server checks it.
			"--kubelet-certificate-authority", filepath.Join(dataDir, "pki", "ca.crt"),
		}
		if c.ha() {
			args = append(args, c.etcdServerArgs(n)...)
		}
		args = append(args, featureGateArgs(c.cfg.FeatureGates)...)
		args = append(args, extraArgs(c.cfg.APIServerExtraArgs)...)
		marker = dataDir
	case componentDNS:
		args = []string{"dns",
			"--kubeconfig", c.AdminKubeconfig(),
			"--listen", net.JoinHostPort(ip, "53"),
			"--cluster-domain", c.cfg.Networking.ClusterDomain,
			"--health-port", fmt.Sprint(dnsHealthPort),
			"--metrics-port", fmt.Sprint(dnsMetricsPort),
			"--node-name", n.name(),
		}
		marker = net.JoinHostPort(ip, "53")
	case componentKubelet:
		dnsIP, err := c.dnsIP()
		if err != nil {
			return daemon.Spec{}, err
		}
		dataDir := c.kubeletDataDir(n)
		var ips []string
		for _, ip := range n.ips {
			ips = append(ips, ip.String())
		}
		args = []string{"kubelet",
			"--bootstrap-kubeconfig", c.bootstrapKubeconfig(n),
			"--kubeconfig", c.kubeletKubeconfig(n),
			"--cert-dir", n.path("pki"),
			"--rotate-certificates",
			"--rotate-server-certificates",
			"--node-name", n.name(),
			"--node-ip", strings.Join(ips, ","),
			"--data-dir", dataDir,
			"--cgroup-root", "/" + filepath.Join(c.nodeCgroup(n), "kubepods"),
			"--cluster-dns", dnsIP.String(),
			"--cluster-domain", c.cfg.Networking.ClusterDomain,
			"--pod-network-routes", "host-gw",
			"--address", ip,
			"--port", fmt.Sprint(kubeletPort),
		}
		// Each node is its own zone unless the config says otherwise:
		// nodes of one host share no failure domain but their own, and
		// trafficDistribution: PreferClose then keeps traffic on the
		// client's node, as the endpointslice controller hints by zone.
		nodeLabels := mergeArgs(map[string]string{zoneLabel: n.name()}, n.spec.Labels)
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(nodeLabels)) {
			labels = append(labels, k+"="+nodeLabels[k])
		}
		args = append(args, "--node-labels", strings.Join(labels, ","))
		args = append(args, featureGateArgs(c.cfg.FeatureGates)...)
		args = append(args, extraArgs(mergeArgs(c.cfg.KubeletExtraArgs, n.spec.KubeletExtraArgs))...)
		marker = dataDir
	case componentProxy:
		args = []string{"proxy",
			"--kubeconfig", c.kubeletKubeconfig(n),
			"--hostname-override", n.name(),
			"--bpf-pin-dir", c.pinDir(n),
			"--cgroup-path", filepath.Join(cgroups.Unified(mounts), c.nodeCgroup(n)),
			"--nodeport-interfaces", "eth0",
			// Pod egress leaving the node is masqueraded to its address.
			"--cluster-cidr", c.cfg.Networking.PodSubnet,
			"--healthz-bind-address", net.JoinHostPort(ip, fmt.Sprint(proxyHealthzPort)),
			"--metrics-bind-address", "127.0.0.1:10249",
		}
		marker = c.pinDir(n)
	default:
		return daemon.Spec{}, fmt.Errorf("unknown component %q", component)
	}
	return daemon.Spec{
		Name:    component + " " + n.name(),
		Argv:    append([]string{c.opts.Binary}, args...),
		NetNS:   c.net.NetNSPath(n.name()),
		Cgroup:  c.componentCgroup(mounts, n, component),
		LogFile: n.path("logs", component+".log"),
		PIDFile: n.path("run", component+".pid"),
		Marker:  marker,
	}, nil
}

func (c *Cluster) nodeMaskSize() int32 {
	if c.cfg.Networking.IPFamily == "ipv6" {
		return c.cfg.Networking.NodeMaskSizeIPv6
	}
	return c.cfg.Networking.NodeMaskSizeIPv4
}

func featureGateArgs(gates map[string]bool) []string {
	if len(gates) == 0 {
		return nil
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(gates)) {
		kv = append(kv, fmt.Sprintf("%s=%t", k, gates[k]))
	}
	return []string{"--feature-gates", strings.Join(kv, ",")}
}

func mergeArgs(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// extraArgs renders "--name=value" flags in a stable order; they come
// last, so they override what Skiff sets.
func extraArgs(args map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(args)) {
		out = append(out, "--"+k+"="+args[k])
	}
	return out
}
