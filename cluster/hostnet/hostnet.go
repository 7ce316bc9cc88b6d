package hostnet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/internal/netns"
)

// NodeInterface is the node's interface on the bridge, inside its netns.
const NodeInterface = "eth0"

// Config configures a cluster's host network.
type Config struct {
	// Cluster is the cluster's name; link names are derived from it.
	Cluster string
	// StateDir holds the nodes' pinned namespaces (StateDir/netns/<node>).
	StateDir string
	// Subnets are the node subnets, at most one per family. The first
	// address of each is the host's, on the bridge; node i gets the
	// (i+2)th.
	Subnets []*net.IPNet
	// MTU of the bridge and veths; 0 keeps the kernel's default.
	MTU int
}

// Network is a cluster's host network.
type Network struct {
	cfg    Config
	bridge string
}

// Node is one node's place on the network.
type Node struct {
	Name string
	// NetNS is the path of the node's pinned network namespace.
	NetNS string
	// IPs are the node's addresses, in the order of Config.Subnets.
	IPs []net.IP
	// HostVeth is the host end of the node's veth pair.
	HostVeth string
}

// New validates cfg. It changes nothing on the host.
func New(cfg Config) (*Network, error) {
	if cfg.Cluster == "" || cfg.StateDir == "" {
		return nil, errors.New("hostnet: Cluster and StateDir are required")
	}
	if len(cfg.Subnets) == 0 || len(cfg.Subnets) > 2 {
		return nil, fmt.Errorf("hostnet: need one or two node subnets, got %d", len(cfg.Subnets))
	}
	if len(cfg.Subnets) == 2 && netutils.IPFamilyOfCIDR(cfg.Subnets[0]) == netutils.IPFamilyOfCIDR(cfg.Subnets[1]) {
		return nil, errors.New("hostnet: two node subnets must be of different families")
	}
	return &Network{cfg: cfg, bridge: "skbr" + shortHash(cfg.Cluster, 6)}, nil
}

// BridgeName is the cluster's bridge.
func (n *Network) BridgeName() string { return n.bridge }

// HostIPs are the host's addresses on the bridge, which nodes route through.
func (n *Network) HostIPs() []net.IP {
	ips := make([]net.IP, 0, len(n.cfg.Subnets))
	for _, s := range n.cfg.Subnets {
		ips = append(ips, nthIP(s, 1))
	}
	return ips
}

// NodeIPs are the addresses of node index i (from 0).
func (n *Network) NodeIPs(i int) ([]net.IP, error) {
	ips := make([]net.IP, 0, len(n.cfg.Subnets))
	for _, s := range n.cfg.Subnets {
		ip := nthIP(s, int64(i)+2)
		if ip == nil || !s.Contains(ip) || ip.Equal(broadcast(s)) {
			return nil, fmt.Errorf("hostnet: node subnet %s has no room for node %d", s, i)
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

// NetNSPath is where node's namespace is pinned.
func (n *Network) NetNSPath(node string) string {
	return filepath.Join(n.cfg.StateDir, "netns", node)
}

func (n *Network) hostVeth(node string) string {
	return "skv" + shortHash(n.cfg.Cluster+"/"+node, 8)
}

// EnsureBridge creates the bridge if missing, gives it the host addresses
// and brings it up.
func (n *Network) EnsureBridge() error {
	link, err := netlink.LinkByName(n.bridge)
	if err != nil {
		if !isNotFound(err) {
			return fmt.Errorf("look up bridge %s: %w", n.bridge, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = n.bridge
		attrs.MTU = n.cfg.MTU
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", n.bridge, err)
		}
		if link, err = netlink.LinkByName(n.bridge); err != nil {
			return fmt.Errorf("look up bridge %s: %w", n.bridge, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s exists and is a %s, not a bridge: remove it or choose another cluster name", n.bridge, link.Type())
	}
	for i, s := range n.cfg.Subnets {
		if err := ensureAddr(link, &net.IPNet{IP: n.HostIPs()[i], Mask: s.Mask}); err != nil {
			return err
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up bridge %s: %w", n.bridge, err)
	}
	return nil
}

// EnsureBridgeAddress adds ip to the bridge as a host address of its own
// (a /32 or /128, beside the subnet's), for a host daemon to listen on
// where both the host and the nodes reach it. It goes with the bridge.
func (n *Network) EnsureBridgeAddress(ip net.IP) error {
	link, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return fmt.Errorf("look up bridge %s: %w", n.bridge, err)
	}
	bits := 32
	if ip.To4() == nil {
		bits = 128
	}
	return ensureAddr(link, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
}

// EnsureNode makes node index i's namespace, veth pair and addresses, and
// returns it; what already exists is kept. EnsureBridge must have run.
func (n *Network) EnsureNode(i int, name string) (*Node, error) {
	ips, err := n.NodeIPs(i)
	if err != nil {
		return nil, err
	}
	node := &Node{Name: name, NetNS: n.NetNSPath(name), IPs: ips, HostVeth: n.hostVeth(name)}
	if !netns.IsPinned(node.NetNS) {
		_ = os.Remove(node.NetNS) // a stale file of an unmounted namespace
		if err := netns.Create(node.NetNS); err != nil {
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
	}
	if err := n.ensureVeth(node); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	if err := netns.Do(node.NetNS, func() error { return n.configureInside(node) }); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	return node, nil
}

// ensureVeth creates the pair if the host end is missing: the host end on
// the bridge, the peer moved into the node's namespace as NodeInterface.
func (n *Network) ensureVeth(node *Node) error {
	bridge, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return fmt.Errorf("look up bridge %s: %w", n.bridge, err)
	}
	host, err := netlink.LinkByName(node.HostVeth)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("look up veth %s: %w", node.HostVeth, err)
	}
	if host == nil {
		nsFile, err := os.Open(node.NetNS)
		if err != nil {
			return fmt.Errorf("open netns: %w", err)
		}
		defer nsFile.Close()
		// The peer is created straight in the node's namespace, so a name
		// clash with another cluster's eth0 on the host cannot happen.
		attrs := netlink.NewLinkAttrs()
		attrs.Name = node.HostVeth
		attrs.MTU = n.cfg.MTU
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: NodeInterface, PeerNamespace: netlink.NsFd(int(nsFile.Fd()))}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %s: %w", node.HostVeth, err)
		}
		if host, err = netlink.LinkByName(node.HostVeth); err != nil {
			return fmt.Errorf("look up veth %s: %w", node.HostVeth, err)
		}
	}
	if host.Attrs().MasterIndex != bridge.Attrs().Index {
		if err := netlink.LinkSetMaster(host, bridge); err != nil {
			return fmt.Errorf("attach %s to %s: %w", node.HostVeth, n.bridge, err)
		}
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring up %s: %w", node.HostVeth, err)
	}
	return nil
}

// configureInside runs in the node's namespace: loopback and eth0 up, the
// node's addresses, default routes through the host, forwarding on.
func (n *Network) configureInside(node *Node) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("look up lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	eth, err := netlink.LinkByName(NodeInterface)
	if err != nil {
		return fmt.Errorf("look up %s: %w", NodeInterface, err)
	}
	for i, s := range n.cfg.Subnets {
		if err := ensureAddr(eth, &net.IPNet{IP: node.IPs[i], Mask: s.Mask}); err != nil {
			return err
		}
	}
	if err := netlink.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring up %s: %w", NodeInterface, err)
	}
	for _, gw := range n.HostIPs() {
		dst := &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}
		sysctl := "/proc/sys/net/ipv4/ip_forward"
		if gw.To4() == nil {
			dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
			sysctl = "/proc/sys/net/ipv6/conf/all/forwarding"
		}
		route := &netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: gw}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
		// Net sysctls are per namespace; this thread is in the node's.
		if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enable forwarding: %w", err)
		}
	}
	return nil
}

// RemoveNode deletes a node's namespace (its eth0 and the host end of the
// veth go with it once no process is left inside) and the host veth.
func (n *Network) RemoveNode(name string) error {
	var errs []error
	if link, err := netlink.LinkByName(n.hostVeth(name)); err == nil {
		if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("delete veth %s: %w", link.Attrs().Name, err))
		}
	}
	if err := netns.Remove(n.NetNSPath(name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Nodes lists the nodes whose namespaces are pinned.
func (n *Network) Nodes() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(n.cfg.StateDir, "netns"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list node namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Teardown removes every node and the bridge.
func (n *Network) Teardown() error {
	nodes, err := n.Nodes()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range nodes {
		if err := n.RemoveNode(name); err != nil {
			errs = append(errs, err)
		}
	}
	if link, err := netlink.LinkByName(n.bridge); err == nil {
		// Veths of nodes whose namespace file was lost are still enslaved.
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().MasterIndex == link.Attrs().Index {
				if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
					errs = append(errs, fmt.Errorf("delete %s: %w", l.Attrs().Name, err))
				}
			}
		}
		if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("delete bridge %s: %w", n.bridge, err))
		}
	}
	_ = os.Remove(filepath.Join(n.cfg.StateDir, "netns"))
	return errors.Join(errs...)
}

// Leftovers names what of this cluster's network still exists on the host:
// the bridge, veths and pinned namespaces. Empty after a Teardown.
func (n *Network) Leftovers() []string {
	var left []string
	links, _ := netlink.LinkList()
	for _, l := range links {
		name := l.Attrs().Name
		if name == n.bridge || (strings.HasPrefix(name, "skv") && n.ownsVeth(name)) {
			left = append(left, "link "+name)
		}
	}
	nodes, _ := n.Nodes()
	for _, name := range nodes {
		left = append(left, "netns "+n.NetNSPath(name))
	}
	return left
}

// ownsVeth reports whether a veth is enslaved to this cluster's bridge.
func (n *Network) ownsVeth(name string) bool {
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return false
	}
	l, err := netlink.LinkByName(name)
	return err == nil && l.Attrs().MasterIndex == br.Attrs().Index
}

func ensureAddr(link netlink.Link, ipn *net.IPNet) error {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, a := range addrs {
		if a.IPNet.IP.Equal(ipn.IP) {
			return nil
		}
	}
	addr := &netlink.Addr{IPNet: ipn}
	if ipn.IP.To4() == nil {
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %s to %s: %w", ipn, link.Attrs().Name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// nthIP is the subnet's base address plus k.
func nthIP(s *net.IPNet, k int64) net.IP {
	base := new(big.Int).SetBytes(s.IP.Mask(s.Mask))
	ip := new(big.Int).Add(base, big.NewInt(k)).Bytes()
	size := len(s.IP.Mask(s.Mask))
	if len(ip) > size {
		return nil
	}
	out := make(net.IP, size)
	copy(out[size-len(ip):], ip)
	return out
}

// broadcast is the subnet's last address (IPv4's broadcast).
func broadcast(s *net.IPNet) net.IP {
	ip := s.IP.Mask(s.Mask)
	out := make(net.IP, len(ip))
	for i := range ip {
		out[i] = ip[i] | ^s.Mask[i]
	}
	return out
}
