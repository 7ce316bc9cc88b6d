//go:build linux

package reconciler

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// tcTopology is a client and two backends, each in a network namespace of
// its own, routed through a "node" namespace whose three veth ends carry
// the TC program:
//
//	client 10.231.1.2 ──nc 10.231.1.1 [node] nb1 10.231.2.1── be1 10.231.2.2 (node-a, local)
//	                                         nb2 10.231.3.1── be2 10.231.3.2 (node-b)
//
// The node namespace forwards (ip_forward=1) but has no NAT of its own.
type tcTopology struct {
	ns                     *netnsSet
	client, node, be1, be2 string
}

const tcNodeIP = "10.231.1.1"

func newTCTopology(t *testing.T) *tcTopology {
	t.Helper()
	s := newNetnsSet(t)
	tp := &tcTopology{ns: s, client: s.add("cli"), node: s.add("node"), be1: s.add("be1"), be2: s.add("be2")}
	s.veth(tp.node, "nc", tcNodeIP+"/24", tp.client, "eth0", "10.231.1.2/24", tcNodeIP)
	s.veth(tp.node, "nb1", "10.231.2.1/24", tp.be1, "eth0", "10.231.2.2/24", "10.231.2.1")
	s.veth(tp.node, "nb2", "10.231.3.1/24", tp.be2, "eth0", "10.231.3.2/24", "10.231.3.1")
	s.sysctl(tp.node, "net.ipv4.ip_forward", "1")
	return tp
}

// tcpEcho serves name and the peer address it sees on each connection.
func (tp *tcTopology) tcpEcho(t testing.TB, ns, addr, name string) {
	t.Helper()
	l, err := tp.ns.listen(ns, "tcp4", addr)
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
			c.Close()
		}
	}()
}

func (tp *tcTopology) udpEcho(t testing.TB, ns, addr, name string) {
	t.Helper()
	c, err := tp.ns.listenPacket(ns, "udp4", addr)
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo(fmt.Appendf(nil, "%s %s", name, from), from)
		}
	}()
}

// answer is what one connection from the client saw.
type answer struct {
	backend, seenAs, peer string
	err                   error
}

func (tp *tcTopology) dialTCP(addr string, timeout time.Duration) answer {
	var a answer
	err := tp.ns.do(tp.client, func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		a.backend, a.seenAs, _ = strings.Cut(strings.TrimSpace(line), " ")
		a.peer = c.RemoteAddr().String()
		return nil
	})
	a.err = err
	return a
}

func (tp *tcTopology) udpOnce(addr string) answer {
	var a answer
	a.err = tp.ns.do(tp.client, func() error {
		c, err := net.ListenPacket("udp4", ":0")
		if err != nil {
			return err
		}
		defer c.Close()
		dst, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.WriteTo([]byte("hi"), dst); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		a.backend, a.seenAs, _ = strings.Cut(string(buf[:n]), " ")
		a.peer = from.String()
		return nil
	})
	return a
}

// TestTCNodePort reaches NodePort and externalIP frontends on the node
// namespace's address from a client in another namespace, through the TC
// program: Cluster policy masquerades to the node address and spreads over
// both backends; Local keeps the client address and uses only the backend on
// this node, and drops when there is none.
func TestTCNodePort(t *testing.T) {
	requirePrivileges(t)
	tp := newTCTopology(t)
	tp.tcpEcho(t, tp.be1, "10.231.2.2:8080", "be1")
	tp.tcpEcho(t, tp.be2, "10.231.3.2:8080", "be2")
	tp.udpEcho(t, tp.be1, "10.231.2.2:5353", "be1")
	tp.udpEcho(t, tp.be2, "10.231.3.2:5353", "be2")

	e := &env{t: t, pinDir: testPinDir(t), ctx: context.Background()}
	e.cgroup, e.cgFD = testCgroup(t)
	e.node = tables.Node{Name: "node-a", Addresses: []netip.Addr{netip.MustParseAddr(tcNodeIP)}}
	e.tables = tables.New(e.node)
	rec, err := New(Config{Tables: e.tables, PinDir: e.pinDir, CgroupPath: e.cgroup, MaglevTableSize: 1021, Sizes: smallSizes,
		Interfaces: []string{"nc", "nb1", "nb2"}, NetNS: tp.ns.path(tp.node)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.rec = rec
	t.Cleanup(func() {
		if err := e.rec.Uninstall(); err != nil {
			t.Errorf("uninstall: %v", err)
		}
	})

	backends := func(proto tables.Protocol, port uint16, local bool) []tables.Backend {
		var bs []tables.Backend
		for _, b := range []struct{ ip, node string }{{"10.231.2.2", "node-a"}, {"10.231.3.2", "node-b"}} {
			if local && b.node != "node-a" {
				continue
			}
			bs = append(bs, tables.Backend{Addr: netip.AddrPortFrom(netip.MustParseAddr(b.ip), port), Protocol: proto,
				PortName: "p", NodeName: b.node, Ready: true, Serving: true})
		}
		return bs
	}
	add := func(name, clusterIP string, etp tables.TrafficPolicy, proto tables.Protocol, nodePort, target uint16, externalIPs []string, bs []tables.Backend) {
		t.Helper()
		svc := tables.Service{Name: tables.ServiceName{Namespace: "tc", Name: name},
			ClusterIPs: []netip.Addr{netip.MustParseAddr(clusterIP)}, ExternalTrafficPolicy: etp,
			Ports: []tables.ServicePort{{Name: "p", Protocol: proto, Port: 80, NodePort: nodePort}}}
		for _, ip := range externalIPs {
			svc.ExternalIPs = append(svc.ExternalIPs, netip.MustParseAddr(ip))
		}
		if err := e.tables.UpsertService(svc); err != nil {
			t.Fatal(err)
		}
		if err := e.tables.UpsertBackends(svc.Name, name, bs); err != nil {
			t.Fatal(err)
		}
	}
	add("cluster", "10.231.100.10", tables.PolicyCluster, tables.TCP, 30080, 8080, []string{"10.231.200.1"}, backends(tables.TCP, 8080, false))
	add("local", "10.231.100.11", tables.PolicyLocal, tables.TCP, 30081, 8080, nil, backends(tables.TCP, 8080, false))
	add("dns", "10.231.100.12", tables.PolicyCluster, tables.UDP, 30053, 5353, nil, backends(tables.UDP, 5353, false))
	// Only node-b has an endpoint: Local drops what reaches this node.
	noLocal := backends(tables.TCP, 8080, false)[1:]
	add("nolocal", "10.231.100.13", tables.PolicyLocal, tables.TCP, 30082, 8080, nil, noLocal)
	e.sync()

	const n = 30
	for _, tc := range []struct {
		name, addr string
		udp        bool
		want       []string
		// seenAs is the source the backend must see.
		seenAs string
	}{
		{"nodeport cluster", tcNodeIP + ":30080", false, []string{"be1", "be2"}, tcNodeIP},
		{"externalIP cluster", "10.231.200.1:80", false, []string{"be1", "be2"}, tcNodeIP},
		{"nodeport local", tcNodeIP + ":30081", false, []string{"be1"}, "10.231.1.2"},
		{"nodeport udp", tcNodeIP + ":30053", true, []string{"be1", "be2"}, tcNodeIP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int{}
			for range n {
				var a answer
				if tc.udp {
					a = tp.udpOnce(tc.addr)
				} else {
					a = tp.dialTCP(tc.addr, 2*time.Second)
				}
				if a.err != nil {
					t.Fatalf("connection to %s: %v", tc.addr, a.err)
				}
				if host, _, _ := strings.Cut(a.seenAs, ":"); host != tc.seenAs {
					t.Errorf("backend %s saw the client as %s, want %s", a.backend, a.seenAs, tc.seenAs)
				}
				if a.peer != tc.addr {
					t.Errorf("client saw the reply from %s, want %s", a.peer, tc.addr)
				}
				got[a.backend]++
			}
			if len(got) != len(tc.want) {
				t.Errorf("answers %v, want all of and only %v", got, tc.want)
			}
			for _, w := range tc.want {
				if got[w] == 0 {
					t.Errorf("backend %s got none of %d: %v", w, n, got)
				}
			}
		})
	}

	if a := tp.dialTCP(tcNodeIP+":30082", 300*time.Millisecond); a.err == nil {
		t.Errorf("Local service without a local endpoint answered from %s", a.backend)
	}
	// Not a frontend: the node namespace just routes it.
	if a := tp.dialTCP("10.231.2.2:8080", 2*time.Second); a.err != nil || a.seenAs == "" || !strings.HasPrefix(a.seenAs, "10.231.1.2:") {
		t.Errorf("direct connection to be1: %+v", a)
	}

	snap, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	var translated uint64
	for _, x := range snap.External {
		if x.Frontend.String() == tcNodeIP+":30080" {
			translated = snap.Stats[x.ServiceID].Translated
		}
	}
	if translated < n {
		t.Errorf("stats count %d translated flows to the NodePort, want >= %d", translated, n)
	}

	// A restarted reconciler adopts the pinned TC links (and the socket
	// hooks) and NodePorts keep working in between and afterwards.
	if err := e.rec.Close(); err != nil {
		t.Fatal(err)
	}
	if a := tp.dialTCP(tcNodeIP+":30080", 2*time.Second); a.err != nil {
		t.Fatalf("NodePort with no reconciler running: %v", a.err)
	}
	rec, err = New(Config{Tables: e.tables, PinDir: e.pinDir, CgroupPath: e.cgroup, MaglevTableSize: 1021, Sizes: smallSizes,
		Interfaces: []string{"nc", "nb1", "nb2"}, NetNS: tp.ns.path(tp.node)})
	if err != nil {
		t.Fatalf("New after restart: %v", err)
	}
	e.rec = rec
	if got, want := rec.Adopted().Links, len(bpf.Hooks)+3; got != want {
		t.Errorf("adopted %d links, want %d (hooks and 3 TC links)", got, want)
	}
	e.sync()
	if a := tp.dialTCP(tcNodeIP+":30081", 2*time.Second); a.err != nil || a.backend != "be1" {
		t.Errorf("NodePort after restart: %+v", a)
	}
}
