package network

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// RouteProtocol marks the routes the Router owns ("proto 92" in ip route),
// so a sync can find and remove the ones no peer needs any more.
const RouteProtocol netlink.RouteProtocol = 92

// Defaults for the VXLAN overlay, as flannel uses them.
const (
	DefaultVXLANDevice = "skiff.vxlan"
	DefaultVXLANPort   = 8472
	DefaultVXLANID     = 1
)

// RouteMode chooses how pods of other nodes are reached.
type RouteMode string

// Route modes.
const (
	// RouteAuto uses a host-gateway route to a peer on a shared subnet and
	// VXLAN to any other.
	RouteAuto RouteMode = ""
	// RouteVXLAN always uses the VXLAN overlay.
	RouteVXLAN RouteMode = "vxlan"
	// RouteHostGW only routes via peers on a shared subnet; the pods of
	// any other peer stay unreachable (and are logged).
	RouteHostGW RouteMode = "host-gw"
)

// Pod-network route modes as --pod-network-routes names them.
const (
	RoutesNone   = "none"
	RoutesAuto   = "auto"
	RoutesHostGW = "host-gw"
	RoutesVXLAN  = "vxlan"
)

// ParseRouteMode reads a --pod-network-routes value: none (or empty)
// means no routes are managed (enabled is false); auto, host-gw and vxlan
// are the Router's modes.
func ParseRouteMode(s string) (mode RouteMode, enabled bool, err error) {
	switch s {
	case "", RoutesNone:
		return RouteAuto, false, nil
	case RoutesAuto:
		return RouteAuto, true, nil
	case RoutesHostGW:
		return RouteHostGW, true, nil
	case RoutesVXLAN:
		return RouteVXLAN, true, nil
	}
	return RouteAuto, false, fmt.Errorf("unknown pod network route mode %q: want one of %s, %s, %s, %s", s, RoutesNone, RoutesAuto, RoutesHostGW, RoutesVXLAN)
}

// Peer is another node whose pods must be reachable.
type Peer struct {
	Name     string
	PodCIDRs []*net.IPNet
	// NodeIPs are its addresses (InternalIP), one per family at most.
	NodeIPs []net.IP
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Interface is the node's interface toward other nodes (e.g. eth0).
	Interface string
	// Mode is RouteAuto unless overridden.
	Mode RouteMode
	// VXLANDevice, VXLANPort, VXLANID default to the Default* values.
	VXLANDevice string
	VXLANPort   int
	VXLANID     int
	// MTU of the VXLAN device; the interface's MTU minus 50 if zero.
	MTU int
}

// Router keeps the routes to other nodes' pod CIDRs in the current network
// namespace (the node's): a route via the peer's IP when it is on a shared
// subnet (host-gw), otherwise through a VXLAN device with a static ARP and
// FDB entry per peer. The VTEP of a node is the first address of its pod
// CIDR, with a MAC derived from that address, so peers need nothing
// published beyond their Node object's podCIDR and InternalIP.
type Router struct {
	cfg RouterConfig
	log klog.Logger
}

// NewRouter validates and defaults cfg.
func NewRouter(cfg RouterConfig, log klog.Logger) (*Router, error) {
	if cfg.Interface == "" {
		return nil, errors.New("router: Interface is required")
	}
	if cfg.VXLANDevice == "" {
		cfg.VXLANDevice = DefaultVXLANDevice
	}
	if cfg.VXLANPort == 0 {
		cfg.VXLANPort = DefaultVXLANPort
	}
	if cfg.VXLANID == 0 {
		cfg.VXLANID = DefaultVXLANID
	}
	if cfg.Mode != RouteAuto && cfg.Mode != RouteVXLAN && cfg.Mode != RouteHostGW {
		return nil, fmt.Errorf("router: unknown mode %q", cfg.Mode)
	}
	return &Router{cfg: cfg, log: log}, nil
}

// VTEP is the overlay address and MAC of a node with the given pod CIDR.
func VTEP(podCIDR *net.IPNet) (net.IP, net.HardwareAddr) {
	ip := podCIDR.IP.Mask(podCIDR.Mask)
	if v4 := ip.To4(); v4 != nil {
		// Locally administered, unicast: 0a:58 then the IPv4 address, as
		// OVN-Kubernetes derives pod MACs.
		return v4, net.HardwareAddr{0x0a, 0x58, v4[0], v4[1], v4[2], v4[3]}
	}
	return ip, net.HardwareAddr{0x0a, 0x58, ip[12], ip[13], ip[14], ip[15]}
}

// Sync makes the routes match peers; ownPodCIDRs are this node's (for its
// VXLAN endpoint). Stale routes, neighbours and FDB entries are removed.
func (r *Router) Sync(ownPodCIDRs []*net.IPNet, peers []Peer) error {
	link, err := netlink.LinkByName(r.cfg.Interface)
	if err != nil {
		return fmt.Errorf("router: look up %s: %w", r.cfg.Interface, err)
	}
	local, err := localNets(link)
	if err != nil {
		return err
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Name < peers[j].Name })

	type vxlanPeer struct {
		cidr   *net.IPNet
		nodeIP net.IP
	}
	var direct []netlink.Route
	var overlay []vxlanPeer
	for _, p := range peers {
		for _, cidr := range p.PodCIDRs {
			nodeIP := sameFamily(p.NodeIPs, cidr.IP)
			if nodeIP == nil {
				r.log.Info("Peer has no node IP of its pod CIDR's family: its pods are unreachable", "node", p.Name, "podCIDR", cidr)
				continue
			}
			if r.cfg.Mode != RouteVXLAN && onLink(local, nodeIP) {
				direct = append(direct, netlink.Route{LinkIndex: link.Attrs().Index, Dst: cidr, Gw: nodeIP, Protocol: RouteProtocol})
				continue
			}
			if r.cfg.Mode == RouteHostGW {
				r.log.Info("Peer is not on a subnet of this node and the mode is host-gw: its pods are unreachable", "node", p.Name, "nodeIP", nodeIP, "podCIDR", cidr)
				continue
			}
			overlay = append(overlay, vxlanPeer{cidr, nodeIP})
		}
	}

	want := map[string]netlink.Route{}
	for _, rt := range direct {
		want[rt.Dst.String()] = rt
	}
	var errs []error
	if len(overlay) > 0 || r.cfg.Mode == RouteVXLAN {
		vx, err := r.ensureVXLAN(link, ownPodCIDRs)
		if err != nil {
			return err
		}
		wantNeigh := map[string]bool{}
		for _, p := range overlay {
			vtepIP, mac := VTEP(p.cidr)
			family := netlink.FAMILY_V4
			if vtepIP.To4() == nil {
				family = netlink.FAMILY_V6
			}
			// ARP: the peer's VTEP address is at its VTEP MAC; FDB: that MAC
			// is behind the peer's node IP.
			if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: vx.Attrs().Index, Family: family, State: netlink.NUD_PERMANENT, IP: vtepIP, HardwareAddr: mac}); err != nil {
				errs = append(errs, fmt.Errorf("router: ARP entry for %s: %w", vtepIP, err))
			}
			if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: vx.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT, Flags: netlink.NTF_SELF, IP: p.nodeIP, HardwareAddr: mac}); err != nil {
				errs = append(errs, fmt.Errorf("router: FDB entry for %s: %w", p.nodeIP, err))
			}
			wantNeigh[mac.String()] = true
			want[p.cidr.String()] = netlink.Route{LinkIndex: vx.Attrs().Index, Dst: p.cidr, Gw: vtepIP, Flags: int(netlink.FLAG_ONLINK), Protocol: RouteProtocol}
		}
		errs = append(errs, r.pruneNeighbours(vx, wantNeigh)...)
	} else if vx, err := netlink.LinkByName(r.cfg.VXLANDevice); err == nil {
		// No peer needs the overlay any more.
		if err := netlink.LinkDel(vx); err != nil {
			errs = append(errs, fmt.Errorf("router: delete %s: %w", r.cfg.VXLANDevice, err))
		}
	}

	for _, rt := range want {
		rt := rt
		if err := netlink.RouteReplace(&rt); err != nil {
			errs = append(errs, fmt.Errorf("router: route %s via %s: %w", rt.Dst, rt.Gw, err))
		}
	}
	existing, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("router: list routes: %w", err))...)
	}
	for _, rt := range existing {
		if rt.Dst == nil {
			continue
		}
		if w, ok := want[rt.Dst.String()]; ok && w.LinkIndex == rt.LinkIndex {
			continue
		}
		rt := rt
		if err := netlink.RouteDel(&rt); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("router: delete stale route %s: %w", rt.Dst, err))
		} else {
			r.log.V(2).Info("Removed stale pod route", "dst", rt.Dst)
		}
	}
	return errors.Join(errs...)
}

// ensureVXLAN creates or updates the VXLAN device with this node's VTEP
// address and MAC.
func (r *Router) ensureVXLAN(parent netlink.Link, own []*net.IPNet) (netlink.Link, error) {
	var localIP net.IP
	addrs, err := netlink.AddrList(parent, netlink.FAMILY_V4)
	if err == nil && len(addrs) > 0 {
		localIP = addrs[0].IP
	}
	var vtepIP net.IP
	var mac net.HardwareAddr
	for _, c := range own {
		if c.IP.To4() != nil {
			vtepIP, mac = VTEP(c)
		}
	}
	if vtepIP == nil {
		return nil, errors.New("router: VXLAN needs this node's IPv4 pod CIDR")
	}
	mtu := r.cfg.MTU
	if mtu == 0 {
		mtu = parent.Attrs().MTU - 50
	}
	link, err := netlink.LinkByName(r.cfg.VXLANDevice)
	if err != nil {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.HardwareAddr = r.cfg.VXLANDevice, mtu, mac
		vx := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: r.cfg.VXLANID, VtepDevIndex: parent.Attrs().Index, SrcAddr: localIP, Port: r.cfg.VXLANPort, Learning: false}
		if err := netlink.LinkAdd(vx); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("router: create %s: %w", r.cfg.VXLANDevice, err)
		}
		if link, err = netlink.LinkByName(r.cfg.VXLANDevice); err != nil {
			return nil, fmt.Errorf("router: look up %s: %w", r.cfg.VXLANDevice, err)
		}
	}
	if _, ok := link.(*netlink.Vxlan); !ok {
		return nil, fmt.Errorf("router: %s exists and is a %s, not vxlan", r.cfg.VXLANDevice, link.Type())
	}
	if link.Attrs().HardwareAddr.String() != mac.String() {
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return nil, fmt.Errorf("router: set %s MAC: %w", r.cfg.VXLANDevice, err)
		}
	}
	if err := ensureLinkAddr(link, &net.IPNet{IP: vtepIP, Mask: net.CIDRMask(32, 32)}); err != nil {
		return nil, err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("router: bring up %s: %w", r.cfg.VXLANDevice, err)
	}
	return link, nil
}

// pruneNeighbours removes permanent ARP and FDB entries of peers gone.
func (r *Router) pruneNeighbours(vx netlink.Link, want map[string]bool) []error {
	var errs []error
	for _, family := range []int{netlink.FAMILY_V4, unix.AF_BRIDGE} {
		neighs, err := netlink.NeighList(vx.Attrs().Index, family)
		if err != nil {
			errs = append(errs, fmt.Errorf("router: list neighbours: %w", err))
			continue
		}
		for _, n := range neighs {
			if n.State&netlink.NUD_PERMANENT == 0 || n.HardwareAddr == nil || want[n.HardwareAddr.String()] {
				continue
			}
			n := n
			if err := netlink.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("router: delete neighbour %s: %w", n.HardwareAddr, err))
			}
		}
	}
	return errs
}

func ensureLinkAddr(link netlink.Link, ipn *net.IPNet) error {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, a := range addrs {
		if a.IPNet.IP.Equal(ipn.IP) {
			return nil
		}
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %s to %s: %w", ipn, link.Attrs().Name, err)
	}
	return nil
}

func localNets(link netlink.Link) ([]*net.IPNet, error) {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("router: addresses of %s: %w", link.Attrs().Name, err)
	}
	var nets []*net.IPNet
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		nets = append(nets, &net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask})
	}
	return nets, nil
}

func onLink(nets []*net.IPNet, ip net.IP) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func sameFamily(ips []net.IP, like net.IP) net.IP {
	for _, ip := range ips {
		if (ip.To4() == nil) == (like.To4() == nil) {
			return ip
		}
	}
	return nil
}

// InterfaceWithIP is the name of the interface that holds ip (the node's
// --node-ip: the interface toward the other nodes).
func InterfaceWithIP(ip net.IP) (string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return "", fmt.Errorf("list interfaces: %w", err)
	}
	for _, l := range links {
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.IP.Equal(ip) {
				return l.Attrs().Name, nil
			}
		}
	}
	return "", fmt.Errorf("no interface has the node IP %s", ip)
}
