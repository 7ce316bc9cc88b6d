package network

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/cluster/hostnet"
	"github.com/skiff-dev/skiff/internal/netns"
)

func mustCIDR(s string) *net.IPNet {
	_, c, err := netutils.ParseCIDRSloppy(s)
	if err != nil {
		panic(err)
	}
	return c
}

// routeNode is a node netns with a "pod" address.
type routeNode struct {
	*hostnet.Node
	podCIDR *net.IPNet
	podIP   net.IP
}

func newRouteNodes(t *testing.T, name string) []routeNode {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces, veths and vxlan")
	}
	hn, err := hostnet.New(hostnet.Config{Cluster: fmt.Sprintf("rt-%s-%d", name, os.Getpid()), StateDir: t.TempDir(), Subnets: []*net.IPNet{mustCIDR("10.213.9.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hn.Teardown() })
	if err := hn.EnsureBridge(); err != nil {
		t.Fatal(err)
	}
	var nodes []routeNode
	for i, n := range []string{"a", "b"} {
		node, err := hn.EnsureNode(i, n)
		if err != nil {
			t.Fatal(err)
		}
		rn := routeNode{Node: node, podCIDR: mustCIDR(fmt.Sprintf("10.214.%d.0/24", i)), podIP: net.ParseIP(fmt.Sprintf("10.214.%d.10", i))}
		// The "pod" address sits on the node's loopback: enough to be a
		// local destination behind the node.
		if err := netns.Do(node.NetNS, func() error {
			l, err := netlink.LinkByName("lo")
			if err != nil {
				return err
			}
			return netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: rn.podIP, Mask: net.CIDRMask(32, 32)}})
		}); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, rn)
	}
	return nodes
}

func (n routeNode) peer() Peer {
	return Peer{Name: n.Name, PodCIDRs: []*net.IPNet{n.podCIDR}, NodeIPs: n.IPs}
}

func TestRouterReachesOtherNodesPods(t *testing.T) {
	for _, mode := range []RouteMode{RouteAuto, RouteVXLAN, RouteHostGW} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			nodes := newRouteNodes(t, map[RouteMode]string{RouteAuto: "gw", RouteVXLAN: "vx", RouteHostGW: "hg"}[mode])
			a, b := nodes[0], nodes[1]
			sync := func(self, other routeNode, peers ...Peer) {
				t.Helper()
				if err := netns.Do(self.NetNS, func() error {
					r, err := NewRouter(RouterConfig{Interface: hostnet.NodeInterface, Mode: mode}, klog.Background())
					if err != nil {
						return err
					}
					return r.Sync([]*net.IPNet{self.podCIDR}, peers)
				}); err != nil {
					t.Fatalf("sync on %s: %v", self.Name, err)
				}
			}
			sync(a, b, b.peer())
			sync(b, a, a.peer())

			var l net.Listener
			if err := netns.Do(b.NetNS, func() (err error) {
				l, err = net.Listen("tcp", net.JoinHostPort(b.podIP.String(), "7000"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					_, _ = io.WriteString(c, "pod-b")
					c.Close()
				}
			}()
			var got string
			deadline := time.Now().Add(10 * time.Second)
			for {
				err := netns.Do(a.NetNS, func() error {
					c, err := net.DialTimeout("tcp", net.JoinHostPort(b.podIP.String(), "7000"), 2*time.Second)
					if err != nil {
						return err
					}
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(2 * time.Second))
					bs, err := io.ReadAll(c)
					got = string(bs)
					return err
				})
				if err == nil || time.Now().After(deadline) {
					if err != nil {
						t.Fatalf("node a to pod IP %s on node b: %v", b.podIP, err)
					}
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got != "pod-b" {
				t.Fatalf("got %q", got)
			}

			// Inspect a's table: one owned route, through the right device.
			var routes []netlink.Route
			var vxlanExists bool
			var vxlanIndex int
			check := func() {
				if err := netns.Do(a.NetNS, func() (err error) {
					routes, err = netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
					l, lerr := netlink.LinkByName(DefaultVXLANDevice)
					vxlanExists = lerr == nil
					if vxlanExists {
						vxlanIndex = l.Attrs().Index
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			check()
			if len(routes) != 1 || routes[0].Dst.String() != b.podCIDR.String() {
				t.Fatalf("owned routes on a = %v", routes)
			}
			if vxlanExists != (mode == RouteVXLAN) {
				t.Errorf("vxlan device exists = %v in mode %q", vxlanExists, mode)
			}
			if viaVXLAN := routes[0].LinkIndex == vxlanIndex && vxlanExists; viaVXLAN != (mode == RouteVXLAN) {
				t.Errorf("route %v through the overlay = %v in mode %q", routes[0], viaVXLAN, mode)
			}
			// b leaves: its route goes (and in auto mode no overlay is left).
			sync(a, b)
			check()
			if len(routes) != 0 {
				t.Errorf("owned routes after b left = %v", routes)
			}
			if vxlanExists && mode == RouteAuto {
				t.Error("vxlan device left in auto mode")
			}
		})
	}
}

func TestVTEP(t *testing.T) {
	ip, mac := VTEP(mustCIDR("10.244.3.0/24"))
	if ip.String() != "10.244.3.0" || mac.String() != "0a:58:0a:f4:03:00" {
		t.Errorf("VTEP = %s %s", ip, mac)
	}
}
