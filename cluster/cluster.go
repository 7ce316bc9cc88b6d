package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	netutils "k8s.io/utils/net"
	"sigs.k8s.io/yaml"

	"github.com/skiff-dev/skiff/apis/cluster/v1alpha1"
	"github.com/skiff-dev/skiff/cluster/hostnet"
	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// DefaultStateRoot holds one directory per cluster.
const DefaultStateRoot = "/var/lib/skiff/clusters"

// maxSocketPath is the longest path a unix socket address can hold.
const maxSocketPath = 107

// configFile is the config a cluster was made with, inside its directory.
const configFile = "cluster.yaml"

// Options are how a cluster is handled, not what it is.
type Options struct {
	// Binary is the skiff executable the daemons run (default: this one).
	Binary string
	// StateRoot holds the cluster's directory (DefaultStateRoot).
	StateRoot string
	// Out receives one progress line per step (default: discarded).
	Out io.Writer
	// ReadyTimeout bounds Up's wait for nodes and DNS (default 3 minutes).
	ReadyTimeout time.Duration
	// KubeconfigOut, if set, receives the admin kubeconfig instead of the
	// user's kubeconfig getting a context merged in.
	KubeconfigOut string
}

func (o *Options) complete() error {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the skiff executable: %w", err)
		}
		o.Binary = exe
	}
	if o.StateRoot == "" {
		o.StateRoot = DefaultStateRoot
	}
	// Absolute: Down finds the cluster's mounts by path in mountinfo.
	abs, err := filepath.Abs(o.StateRoot)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", o.StateRoot, err)
	}
	o.StateRoot = abs
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	return nil
}

// Cluster is one cluster's plan: its config, where its state lives and what
// each node runs.
type Cluster struct {
	cfg   *v1alpha1.Cluster
	opts  Options
	dir   string
	net   *hostnet.Network
	nodes []*node
}

// node is one node's plan.
type node struct {
	index int
	spec  v1alpha1.Node
	ips   []net.IP
	dir   string
}

func (n *node) name() string            { return n.spec.Name }
func (n *node) controlPlane() bool      { return n.spec.Role == v1alpha1.ControlPlaneRole }
func (n *node) path(p ...string) string { return filepath.Join(append([]string{n.dir}, p...)...) }

// New plans the cluster cfg (defaulted and validated, as v1alpha1.Load
// returns it). It changes nothing on the host.
func New(cfg *v1alpha1.Cluster, opts Options) (*Cluster, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	if errs := v1alpha1.ValidateCluster(cfg); len(errs) > 0 {
		return nil, fmt.Errorf("invalid cluster config: %v", errs.ToAggregate())
	}
	c := &Cluster{cfg: cfg, opts: opts, dir: filepath.Join(opts.StateRoot, cfg.Name)}
	subnets, err := parseCIDRs(cfg.Networking.NodeSubnet)
	if err != nil {
		return nil, fmt.Errorf("networking.nodeSubnet: %w", err)
	}
	c.net, err = hostnet.New(hostnet.Config{Cluster: cfg.Name, StateDir: filepath.Join(c.dir, "net"), Subnets: subnets})
	if err != nil {
		return nil, err
	}
	for i, spec := range cfg.Nodes {
		ips, err := c.net.NodeIPs(i)
		if err != nil {
			return nil, err
		}
		n := &node{index: i, spec: spec, ips: ips, dir: filepath.Join(c.dir, "nodes", spec.Name)}
		// containerd's ttrpc socket is the longest path a node has, and
		// a unix socket path has at most 107 bytes.
		if sock := runtime.SupervisedSocket(filepath.Join(c.kubeletDataDir(n), "containerd")) + ".ttrpc"; len(sock) > maxSocketPath {
			return nil, fmt.Errorf("node %s: its containerd socket %s would be %d bytes long, over the %d a unix socket allows: use a shorter --state-dir or node name",
				spec.Name, sock, len(sock), maxSocketPath)
		}
		c.nodes = append(c.nodes, n)
	}
	return c, nil
}

// Open plans the existing cluster name from the config it was made with.
func Open(name string, opts Options) (*Cluster, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	path := filepath.Join(opts.StateRoot, name, configFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no cluster %q here (%s does not exist): `skiff up` makes one", name, path)
	}
	cfg, err := v1alpha1.Load(path)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts)
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Dir is the cluster's state directory.
func (c *Cluster) Dir() string { return c.dir }

// AdminKubeconfig is the path of the cluster's admin kubeconfig.
func (c *Cluster) AdminKubeconfig() string { return filepath.Join(c.dir, "admin.kubeconfig") }

func (c *Cluster) controlPlanes() []*node {
	var cps []*node
	for _, n := range c.nodes {
		if n.controlPlane() {
			cps = append(cps, n)
		}
	}
	return cps
}

// serverURL is where nodes and the host reach the API: the first
// control-plane node's API server, or with several the cluster's API
// address balancing over them all.
func (c *Cluster) serverURL() string {
	host := c.controlPlanes()[0].ips[0]
	if c.ha() {
		host = c.apiAddress()
	}
	return "https://" + net.JoinHostPort(host.String(), fmt.Sprint(c.cfg.Networking.APIServerPort))
}

// dnsIP is the kube-dns Service's cluster IP: the tenth address of the
// first service range, as kubeadm picks it.
func (c *Cluster) dnsIP() (net.IP, error) {
	cidrs, err := parseCIDRs(c.cfg.Networking.ServiceSubnet)
	if err != nil {
		return nil, err
	}
	return netutils.GetIndexedIP(cidrs[0], 10)
}

// savedConfig compares the config on disk with c's: empty when none is
// saved, an error naming the difference when it differs.
func (c *Cluster) checkSavedConfig() (saved bool, err error) {
	data, err := os.ReadFile(filepath.Join(c.dir, configFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the cluster's saved config: %w", err)
	}
	old, err := v1alpha1.Decode(data)
	if err != nil {
		return true, fmt.Errorf("%s: %w", filepath.Join(c.dir, configFile), err)
	}
	want, _ := yaml.Marshal(c.cfg)
	have, _ := yaml.Marshal(old)
	if string(want) != string(have) {
		return true, fmt.Errorf("cluster %q already exists with another config (%s): run `skiff down --name %s` first, or `skiff up` with the same config",
			c.cfg.Name, filepath.Join(c.dir, configFile), c.cfg.Name)
	}
	return true, nil
}

func (c *Cluster) saveConfig() error {
	data, err := yaml.Marshal(c.cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.dir, err)
	}
	return os.WriteFile(filepath.Join(c.dir, configFile), data, 0o600)
}

func (c *Cluster) progress(format string, args ...any) {
	fmt.Fprintf(c.opts.Out, " • "+format+"\n", args...)
}

func parseCIDRs(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(s, ",") {
		_, ipn, err := netutils.ParseCIDRSloppy(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", part)
		}
		out = append(out, ipn)
	}
	return out, nil
}
