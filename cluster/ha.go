package cluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/certs"
	"github.com/skiff-dev/skiff/cluster/daemon"
	"github.com/skiff-dev/skiff/internal/cgroups"
)

// componentEtcd is a control-plane node's etcd member, run as its own
// daemon when there are several control-plane nodes (one alone keeps the
// API server's embedded etcd).
const componentEtcd = "etcd"

// balancerName names the host daemon that balances the cluster's address
// over the API servers.
const balancerName = "api-balancer"

// etcd's ports on each control-plane node's address.
const (
	etcdClientPort = 2379
	etcdPeerPort   = 2380
)

// ha reports whether the cluster has several control-plane nodes: one etcd
// cluster of them and the host address balancing over their API servers.
func (c *Cluster) ha() bool { return len(c.controlPlanes()) > 1 }

// apiAddress is the host address the API is reached at with several
// control-plane nodes: the last usable address of the (first) node
// subnet, which no node takes while the subnet has room for them all.
func (c *Cluster) apiAddress() net.IP {
	s, err := parseCIDRs(c.cfg.Networking.NodeSubnet)
	if err != nil {
		return nil
	}
	base := s[0].IP.Mask(s[0].Mask)
	ip := make(net.IP, len(base))
	for i := range base {
		ip[i] = base[i] | ^s[0].Mask[i]
	}
	// One below the last (IPv4's broadcast) address.
	for i := len(ip) - 1; i >= 0; i-- {
		ip[i]--
		if ip[i] != 0xff {
			break
		}
	}
	if !s[0].Contains(ip) || ip.Equal(base) {
		return nil
	}
	return ip
}

// checkAPIAddress refuses a node subnet whose nodes would take the API
// address.
func (c *Cluster) checkAPIAddress() error {
	vip := c.apiAddress()
	if vip == nil {
		return fmt.Errorf("networking.nodeSubnet %s has no address left for the API", c.cfg.Networking.NodeSubnet)
	}
	for _, n := range c.nodes {
		if n.ips[0].Equal(vip) {
			return fmt.Errorf("networking.nodeSubnet %s is too small: node %s would take %s, the API's address; choose a larger subnet", c.cfg.Networking.NodeSubnet, n.name(), vip)
		}
	}
	return nil
}

func (c *Cluster) etcdClientURL(n *node) string {
	return "https://" + net.JoinHostPort(n.ips[0].String(), fmt.Sprint(etcdClientPort))
}

func (c *Cluster) etcdPeerURL(n *node) string {
	return "https://" + net.JoinHostPort(n.ips[0].String(), fmt.Sprint(etcdPeerPort))
}

// etcdPKI is where a control-plane node's etcd and API server keep their
// etcd certificates (not under the server's directory: each daemon's
// command line must name only its own directory, see daemon.Spec.Marker).
func (c *Cluster) etcdPKI(n *node, file string) string { return n.path("pki-etcd", file) }

// etcdArgs are `skiff etcd`'s flags for node n: a member of one cluster of
// every control-plane node, TLS with client certificates on both the
// client and the peer ports. --initial-cluster and the state only matter
// the first time: once its data dir has a member, etcd restarts from it.
func (c *Cluster) etcdArgs(n *node) []string {
	var initial []string
	for _, cp := range c.controlPlanes() {
		initial = append(initial, cp.name()+"="+c.etcdPeerURL(cp))
	}
	ca := c.path("pki", "ca.crt")
	serverCert, serverKey := c.etcdPKI(n, "etcd-server.crt"), c.etcdPKI(n, "etcd-server.key")
	clientCert, clientKey := c.etcdPKI(n, "etcd-client.crt"), c.etcdPKI(n, "etcd-client.key")
	return []string{"etcd",
		"--name", n.name(),
		"--data-dir", n.path("etcd"),
		"--listen-client-urls", c.etcdClientURL(n) + ",https://127.0.0.1:" + fmt.Sprint(etcdClientPort),
		"--advertise-client-urls", c.etcdClientURL(n),
		"--listen-peer-urls", c.etcdPeerURL(n),
		"--initial-advertise-peer-urls", c.etcdPeerURL(n),
		"--initial-cluster", strings.Join(initial, ","),
		"--initial-cluster-state", "new",
		"--initial-cluster-token", "skiff-" + c.cfg.Name,
		"--cert-file", serverCert, "--key-file", serverKey,
		"--client-cert-auth", "--trusted-ca-file", ca,
		// etcd's own gRPC gateway dials its client port with this.
		"--client-cert-file", clientCert, "--client-key-file", clientKey,
		"--peer-cert-file", serverCert, "--peer-key-file", serverKey,
		"--peer-client-cert-file", clientCert, "--peer-client-key-file", clientKey,
		"--peer-client-cert-auth", "--peer-trusted-ca-file", ca,
		// Nodes share the host's CPUs with everything else on it: etcd's
		// defaults (100ms, 1s) elect anew under a busy moment.
		"--heartbeat-interval", "200",
		"--election-timeout", "2000",
		"--listen-metrics-urls", "http://127.0.0.1:2381",
	}
}

// etcdServerArgs point node n's API server at every etcd member.
func (c *Cluster) etcdServerArgs(n *node) []string {
	var urls []string
	for _, cp := range c.controlPlanes() {
		urls = append(urls, c.etcdClientURL(cp))
	}
	return []string{
		"--etcd-servers", strings.Join(urls, ","),
		"--etcd-cafile", c.path("pki", "ca.crt"),
		"--etcd-certfile", c.etcdPKI(n, "etcd-client.crt"),
		"--etcd-keyfile", c.etcdPKI(n, "etcd-client.key"),
	}
}

// ensureServerPKI issues each control-plane node's API serving
// certificate before its server starts, covering the API address as well
// as what the server itself would put in it (which then keeps it), and,
// with several control-plane nodes, the etcd member's serving certificate
// and the client certificate etcd peers and the API server present.
func (c *Cluster) ensureServerPKI(ca *certs.CA) error {
	domain := c.cfg.Networking.ClusterDomain
	hosts := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "kubernetes.default.svc." + domain}
	// The server adds the host name (node namespaces share the host's).
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	svc, err := parseCIDRs(c.cfg.Networking.ServiceSubnet)
	if err != nil {
		return err
	}
	kubernetesIP, err := netutils.GetIndexedIP(svc[0], 1)
	if err != nil {
		return err
	}
	for _, n := range c.controlPlanes() {
		ips := []net.IP{netutils.ParseIPSloppy("127.0.0.1"), net.IPv6loopback, kubernetesIP}
		ips = append(ips, n.ips...)
		if c.ha() {
			ips = append(ips, c.apiAddress())
		}
		if err := ca.EnsureServing(n.path("server", "pki", "apiserver.crt"), n.path("server", "pki", "apiserver.key"), "skiff-apiserver", hosts, ips); err != nil {
			return fmt.Errorf("node %s: API serving certificate: %w", n.name(), err)
		}
		if !c.ha() {
			continue
		}
		etcdIPs := append([]net.IP{netutils.ParseIPSloppy("127.0.0.1")}, n.ips...)
		if err := ca.EnsureServing(c.etcdPKI(n, "etcd-server.crt"), c.etcdPKI(n, "etcd-server.key"), "skiff-etcd-"+n.name(), []string{"localhost", n.name()}, etcdIPs); err != nil {
			return fmt.Errorf("node %s: etcd serving certificate: %w", n.name(), err)
		}
		if err := ca.EnsureClient(c.etcdPKI(n, "etcd-client.crt"), c.etcdPKI(n, "etcd-client.key"), "skiff-etcd-client-"+n.name(), nil); err != nil {
			return fmt.Errorf("node %s: etcd client certificate: %w", n.name(), err)
		}
	}
	return nil
}

// balancerSpec is the host daemon that serves the API address: in the
// cluster's cgroup (so Down finds anything it leaves) but in the host's
// network namespace, where kubectl and the nodes' bridge reach it.
//
// Why a TCP proxy rather than Skiff's eBPF socket balancer: the host has
// no node cgroup of its own, so connect hooks rewriting the address would
// have to sit on the cgroup2 root, under every process on the host (other
// clusters' proxies and their attachments included), and a program left
// there by a crashed `skiff up` would outlive the cluster. A proxy on an
// address of the cluster's own bridge touches no other traffic, goes away
// with the bridge, and health-checks /readyz as kube-vip or haproxy do;
// its cost, one extra hop for API connections, does not matter at a
// control plane's request rates.
func (c *Cluster) balancerSpec(mounts []cgroups.Mount) daemon.Spec {
	listen := net.JoinHostPort(c.apiAddress().String(), fmt.Sprint(c.cfg.Networking.APIServerPort))
	args := []string{balancerName, "--listen", listen,
		"--ca-file", c.path("pki", "ca.crt"),
		"--cert-file", c.path("pki", "admin.crt"),
		"--key-file", c.path("pki", "admin.key"),
	}
	for _, n := range c.controlPlanes() {
		args = append(args, "--backend", net.JoinHostPort(n.ips[0].String(), fmt.Sprint(c.cfg.Networking.APIServerPort)))
	}
	return daemon.Spec{
		Name:    balancerName + " " + c.cfg.Name,
		Argv:    append([]string{c.opts.Binary}, args...),
		Cgroup:  filepath.Join(cgroups.Unified(mounts), c.cgroupRoot(), balancerName),
		LogFile: c.path("logs", balancerName+".log"),
		PIDFile: c.path("run", balancerName+".pid"),
		Marker:  listen,
	}
}
