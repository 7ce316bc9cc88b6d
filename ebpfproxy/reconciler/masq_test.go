//go:build linux

package reconciler

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// masqTopology is one node with two pods on a bridge and an uplink to an
// "outside" namespace that also holds a second node's address:
//
//	pod1 10.251.1.2 ─┐
//	pod2 10.251.1.3 ─┴─ br0 10.251.1.1 [node] up0 198.18.77.1 ── eth0 198.18.77.2, 198.18.77.3 (another node) [out]
//
// The outside routes 10.251.0.0/16 back via the node, so without the
// masquerade pod traffic is plainly routed and arrives with the pod address.
// These ranges (198.18.77.0/24, 10.251.0.0/16) are used by no other test.
type masqTopology struct {
	ns                    *netnsSet
	node, pod1, pod2, out string
	// echoSrc records the source of each echo request the outside sees,
	// by sequence number.
	mu      sync.Mutex
	echoSrc map[uint16]netip.Addr
}

const (
	masqNodeIP   = "198.18.77.1"
	masqOutIP    = "198.18.77.2"
	masqOtherIP  = "198.18.77.3"
	masqPod1IP   = "10.251.1.2"
	masqPod2IP   = "10.251.1.3"
	masqCluster  = "10.251.0.0/16"
	masqEchoPort = "7000"
	masqUDPPort  = "7001"
)

func newMasqTopology(t testing.TB) *masqTopology {
	t.Helper()
	s := newNetnsSet(t)
	tp := &masqTopology{ns: s, node: s.add("mnode"), pod1: s.add("mpod1"), pod2: s.add("mpod2"), out: s.add("mout"),
		echoSrc: map[uint16]netip.Addr{}}
	s.ip("-n", tp.node, "link", "add", "br0", "type", "bridge")
	s.ip("-n", tp.node, "addr", "add", "10.251.1.1/24", "dev", "br0")
	s.ip("-n", tp.node, "link", "set", "br0", "up")
	for i, pod := range []struct{ ns, ip string }{{tp.pod1, masqPod1IP}, {tp.pod2, masqPod2IP}} {
		host := fmt.Sprintf("vpod%d", i+1)
		s.veth(tp.node, host, "10.251.255."+strconv.Itoa(i+1)+"/32", pod.ns, "eth0", pod.ip+"/24", "")
		s.ip("-n", tp.node, "addr", "flush", "dev", host)
		s.ip("-n", tp.node, "link", "set", host, "master", "br0")
		s.ip("-n", pod.ns, "route", "add", "default", "via", "10.251.1.1")
		s.sysctl(pod.ns, "net.ipv4.ping_group_range", "0 2147483647")
	}
	s.veth(tp.node, "up0", masqNodeIP+"/24", tp.out, "eth0", masqOutIP+"/24", "")
	s.ip("-n", tp.out, "addr", "add", masqOtherIP+"/24", "dev", "eth0")
	s.ip("-n", tp.out, "route", "add", masqCluster, "via", masqNodeIP)
	s.sysctl(tp.node, "net.ipv4.ip_forward", "1")
	return tp
}

// via is a tcTopology whose client is ns, for its echo and dial helpers.
func (tp *masqTopology) via(ns string) *tcTopology { return &tcTopology{ns: tp.ns, client: ns} }

// captureEchoes records the sources of the echo requests the outside gets
// (the kernel answers them).
func (tp *masqTopology) captureEchoes(t *testing.T) {
	t.Helper()
	c, err := tp.ns.listenPacket(tp.out, "ip4:icmp", "0.0.0.0")
	if err != nil {
		t.Fatalf("raw ICMP socket in %s: %v", tp.out, err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 8 || buf[0] != 8 { // echo requests only
				continue
			}
			src, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			tp.mu.Lock()
			tp.echoSrc[binary.BigEndian.Uint16(buf[6:8])] = src.Unmap()
			tp.mu.Unlock()
		}
	}()
}

// ping sends one echo request with sequence number seq from ns to dst over
// a ping socket and waits for the reply.
func (tp *masqTopology) ping(ns, dst string, seq uint16) error {
	return tp.ns.do(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err != nil {
			return fmt.Errorf("ping socket: %w", err)
		}
		defer unix.Close(fd)
		tv := unix.Timeval{Sec: 2}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		msg := []byte{8, 0, 0, 0, 0, 0, byte(seq >> 8), byte(seq), 's', 'k', 'i', 'f', 'f'}
		to := &unix.SockaddrInet4{Addr: netip.MustParseAddr(dst).As4()}
		if err := unix.Sendto(fd, msg, 0, to); err != nil {
			return fmt.Errorf("send echo: %w", err)
		}
		buf := make([]byte, 1500)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return fmt.Errorf("echo reply: %w", err)
			}
			if n >= 8 && buf[0] == 0 && binary.BigEndian.Uint16(buf[6:8]) == seq {
				return nil
			}
		}
	})
}

// echoSource waits for the outside to have seen echo request seq.
func (tp *masqTopology) echoSource(seq uint16) (netip.Addr, bool) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		tp.mu.Lock()
		a, ok := tp.echoSrc[seq]
		tp.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return a, ok
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMasquerade checks pod egress masquerading on a node's uplink: TCP,
// UDP and ICMP echo from a pod to the outside leave with the node address
// (and a port of the masquerade range) and the replies reach the pod, while
// traffic to the other pod, to the node and to another node's address keeps
// the pod address. A reconciler restarted without cluster CIDRs detaches
// the egress program and plain routing (the pod address) comes back.
func TestMasquerade(t *testing.T) {
	requirePrivileges(t)
	tp := newMasqTopology(t)
	tp.captureEchoes(t)
	out := tp.via(tp.out)
	out.tcpEcho(t, tp.out, ":"+masqEchoPort, "out")
	// One UDP socket per address, so that each replies from the address
	// it was sent to.
	out.udpEcho(t, tp.out, masqOutIP+":"+masqUDPPort, "out")
	out.udpEcho(t, tp.out, masqOtherIP+":"+masqUDPPort, "other")
	tp.via(tp.pod2).tcpEcho(t, tp.pod2, ":"+masqEchoPort, "pod2")
	tp.via(tp.pod2).udpEcho(t, tp.pod2, ":"+masqUDPPort, "pod2")
	tp.via(tp.node).tcpEcho(t, tp.node, ":"+masqEchoPort, "node")

	e := &env{t: t, pinDir: testPinDir(t)}
	e.cgroup, e.cgFD = testCgroup(t)
	e.node = tables.Node{Name: "node-a", Addresses: []netip.Addr{netip.MustParseAddr(masqNodeIP)}}
	e.tables = tables.New(e.node)
	e.tables.SetClusterNodeAddresses([]netip.Addr{netip.MustParseAddr(masqNodeIP), netip.MustParseAddr(masqOtherIP)})
	open := func(clusterCIDRs ...netip.Prefix) {
		t.Helper()
		rec, err := New(Config{Tables: e.tables, PinDir: e.pinDir, CgroupPath: e.cgroup, MaglevTableSize: 1021, Sizes: smallSizes,
			Interfaces: []string{"up0"}, NetNS: tp.ns.path(tp.node), ClusterCIDRs: clusterCIDRs})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		e.rec = rec
		if _, err := rec.Sync(t.Context()); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}
	open(netip.MustParsePrefix(masqCluster))
	t.Cleanup(func() {
		if err := e.rec.Uninstall(); err != nil {
			t.Errorf("uninstall: %v", err)
		}
	})

	type flow struct {
		name  string
		proto string // tcp, udp or icmp
		dst   string // address (and port for tcp/udp)
		// masq says the destination must see the node address; otherwise
		// it must see pod1's.
		masq bool
	}
	flows := []flow{
		{"tcp to outside", "tcp", masqOutIP + ":" + masqEchoPort, true},
		{"udp to outside", "udp", masqOutIP + ":" + masqUDPPort, true},
		{"icmp echo to outside", "icmp", masqOutIP, true},
		{"tcp to another node", "tcp", masqOtherIP + ":" + masqEchoPort, false},
		{"udp to another node", "udp", masqOtherIP + ":" + masqUDPPort, false},
		{"icmp echo to another node", "icmp", masqOtherIP, false},
		{"tcp to pod2", "tcp", masqPod2IP + ":" + masqEchoPort, false},
		{"udp to pod2", "udp", masqPod2IP + ":" + masqUDPPort, false},
		{"tcp to the node", "tcp", masqNodeIP + ":" + masqEchoPort, false},
	}
	var seq uint16
	check := func(t *testing.T, f flow, masqOn bool) {
		want := masqPod1IP
		if f.masq && masqOn {
			want = masqNodeIP
		}
		const n = 5
		for range n {
			var seen string
			switch f.proto {
			case "icmp":
				seq++
				if err := tp.ping(tp.pod1, f.dst, seq); err != nil {
					t.Fatalf("ping %s: %v", f.dst, err)
				}
				if f.dst != masqOutIP && f.dst != masqOtherIP {
					continue
				}
				src, ok := tp.echoSource(seq)
				if !ok {
					t.Fatalf("the outside saw no echo request %d", seq)
				}
				seen = src.String() + ":0"
			case "tcp", "udp":
				var a answer
				if f.proto == "tcp" {
					a = tp.via(tp.pod1).dialTCP(f.dst, 2*time.Second)
				} else {
					a = tp.via(tp.pod1).udpOnce(f.dst)
				}
				if a.err != nil {
					t.Fatalf("%s to %s: %v", f.proto, f.dst, a.err)
				}
				if a.peer != f.dst {
					t.Errorf("pod saw the reply from %s, want %s", a.peer, f.dst)
				}
				seen = a.seenAs
			}
			ap, err := netip.ParseAddrPort(seen)
			if err != nil {
				t.Fatalf("peer %q: %v", seen, err)
			}
			if ap.Addr().String() != want {
				t.Errorf("destination saw the pod as %s, want address %s", seen, want)
			}
			if want == masqNodeIP && f.proto != "icmp" && (ap.Port() < bpf.MasqPortMin || ap.Port() > bpf.MasqPortMax) {
				t.Errorf("masqueraded port %d is outside %d-%d", ap.Port(), bpf.MasqPortMin, bpf.MasqPortMax)
			}
		}
	}
	for _, f := range flows {
		t.Run("masquerade/"+f.name, func(t *testing.T) { check(t, f, true) })
	}

	t.Run("masquerade/closed TCP flows are closing", func(t *testing.T) {
		// Every TCP connection above was closed: each reply entry is
		// stamped and marked closing, so its port is free again soon.
		var (
			k      bpf.CtKey
			v      bpf.CtRevValue
			closed int
		)
		it := e.rec.objs.CtRev.Iterate()
		for it.Next(&k, &v) {
			if k.Proto != unix.IPPROTO_TCP || bpf.AddrFrom(v.Client.W).String() != masqPod1IP {
				continue
			}
			if v.Seen&0x7fffffff == 0 || v.Seen&0x80000000 == 0 {
				t.Errorf("reply entry %+v of a closed connection: seen %#x, want a time and the closing bit", k, v.Seen)
			}
			closed++
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if closed < 5 {
			t.Errorf("%d masqueraded TCP reply entries, want at least the 5 connections made", closed)
		}
	})
	t.Run("masquerade/port taken", func(t *testing.T) { testMasqPortClaim(t, tp, e.rec) })

	// Without cluster CIDRs the egress links go and the maps are emptied.
	if err := e.rec.Close(); err != nil {
		t.Fatal(err)
	}
	open()
	pins, err := filepath.Glob(filepath.Join(linksDir(e.pinDir), tcEgressPinPrefix+"*"))
	if err != nil || len(pins) != 0 {
		t.Errorf("egress link pins after restarting without cluster CIDRs: %v (%v)", pins, err)
	}
	for _, f := range flows {
		t.Run("plain/"+f.name, func(t *testing.T) { check(t, f, false) })
	}
}

// udpFrom sends one datagram from ns, from local port sport, to dst and
// returns the peer address the echo reports.
func (tp *masqTopology) udpFrom(ns string, sport int, dst string) (netip.AddrPort, error) {
	var seen netip.AddrPort
	err := tp.ns.do(ns, func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: sport})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.WriteToUDPAddrPort([]byte("hi"), netip.MustParseAddrPort(dst)); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		_, peer, _ := strings.Cut(string(buf[:n]), " ")
		seen, err = netip.ParseAddrPort(peer)
		return err
	})
	return seen, err
}

// mix64 is lb.c's mix64.
func mix64(x uint64) uint32 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return uint32(x)
}

// ctNow is lb.c's ct_now: CLOCK_MONOTONIC in 2^30 ns units, plus one.
func ctNow(t testing.TB) uint32 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return (uint32(uint64(ts.Nano())>>30) + 1) & 0x7fffffff
}

// testMasqPortClaim occupies the port the masquerade tries first for a UDP
// flow with a foreign flow's reply entry: a NodePort entry (no timestamp)
// or a live masqueraded flow's must be left alone and the flow must get
// another port, its reply still reaching the pod; a masqueraded flow idle
// past its timeout gives the port up. Then both pods send from the same
// source port to the same destination and must be told apart by port.
func testMasqPortClaim(t *testing.T, tp *masqTopology, rec *Reconciler) {
	dst := masqOutIP + ":" + masqUDPPort
	saddr := binary.NativeEndian.Uint32(netip.MustParseAddr(masqPod1IP).AsSlice())
	firstFor := func(sport uint16) uint16 {
		return uint16(bpf.MasqPortMin + mix64(uint64(saddr)<<32|uint64(bpf.Port(sport))<<16|unix.IPPROTO_UDP)%(bpf.MasqPortMax-bpf.MasqPortMin+1))
	}
	// A free first choice is taken as is: the hash here is the program's.
	if seen, err := tp.udpFrom(tp.pod1, 40001, dst); err != nil || seen.Port() != firstFor(40001) {
		t.Fatalf("udp from pod1:40001 seen as %s (%v), want port %d", seen, err, firstFor(40001))
	}
	now := ctNow(t)
	for _, tc := range []struct {
		name  string
		sport uint16
		seen  uint32 // the foreign entry's timestamp
		take  bool   // whether the flow takes the foreign flow's port
	}{
		{"NodePort flow kept", 40011, 0, false},
		{"live masqueraded flow kept", 40012, now, false},
		{"closing flow idle 3 units kept", 40013, (now - 3) | 0x80000000, false},
		{"UDP flow idle past its timeout taken over", 40014, now - 200, true},
		{"closing flow idle past its timeout taken over", 40015, (now - 20) | 0x80000000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := firstFor(tc.sport)
			key := bpf.CtKey{
				Src:   bpf.LBAddr{W: bpf.Addr(netip.MustParseAddr(masqOutIP))},
				Dst:   bpf.LBAddr{W: bpf.Addr(netip.MustParseAddr(masqNodeIP))},
				Sport: bpf.Port(7001), Dport: bpf.Port(first), Proto: unix.IPPROTO_UDP,
			}
			foreign := bpf.CtRevValue{
				Fe: key.Src, FePort: key.Sport,
				Client: bpf.LBAddr{W: bpf.Addr(netip.MustParseAddr("10.251.9.9"))}, ClientPort: bpf.Port(5555), Seen: tc.seen,
			}
			if err := rec.objs.CtRev.Put(key, foreign); err != nil {
				t.Fatal(err)
			}
			seen, err := tp.udpFrom(tp.pod1, int(tc.sport), dst)
			if err != nil {
				t.Fatalf("udp from pod1:%d: %v", tc.sport, err)
			}
			if seen.Addr().String() != masqNodeIP || seen.Port() < bpf.MasqPortMin || (seen.Port() == first) != tc.take {
				t.Errorf("outside saw %s; want %s, port %d taken over: %t", seen, masqNodeIP, first, tc.take)
			}
			var got bpf.CtRevValue
			err = rec.objs.CtRev.Lookup(key, &got)
			if kept := err == nil && got.Client == foreign.Client; kept == tc.take {
				t.Errorf("foreign reply entry afterwards: %+v (%v); want it kept: %t", got, err, !tc.take)
			}
		})
	}

	seen1, err := tp.udpFrom(tp.pod1, 40021, dst)
	if err != nil {
		t.Fatalf("udp from pod1:40021: %v", err)
	}
	seen2, err := tp.udpFrom(tp.pod2, 40021, dst)
	if err != nil {
		t.Fatalf("udp from pod2:40021: %v", err)
	}
	if seen2.Addr().String() != masqNodeIP || seen2.Port() == seen1.Port() {
		t.Errorf("pod2 seen as %s and pod1 as %s: want the node address with different ports", seen2, seen1)
	}
}

// BenchmarkMasqueradeTCP times a TCP connect, one-line answer and close
// from a pod to the outside through the node, plainly routed and
// masqueraded (the egress program on up0, the replies through ct_rev and
// the ingress program), and a UDP round trip on one socket.
func BenchmarkMasqueradeTCP(b *testing.B) {
	requirePrivileges(b)
	tp := newMasqTopology(b)
	tp.via(tp.out).tcpEcho(b, tp.out, ":"+masqEchoPort, "out")
	tp.via(tp.out).udpEcho(b, tp.out, masqOutIP+":"+masqUDPPort, "out")
	pin := testPinDir(b)
	cg, _ := testCgroup(b)
	tb := tables.New(tables.Node{Name: "node-a", Addresses: []netip.Addr{netip.MustParseAddr(masqNodeIP)}})
	for _, mode := range []struct {
		name  string
		cidrs []netip.Prefix
	}{{"plain", nil}, {"masquerade", []netip.Prefix{netip.MustParsePrefix(masqCluster)}}} {
		rec, err := New(Config{Tables: tb, PinDir: pin, CgroupPath: cg, MaglevTableSize: 1021, Sizes: smallSizes,
			Interfaces: []string{"up0"}, NetNS: tp.ns.path(tp.node), ClusterCIDRs: mode.cidrs})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Sync(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.Run(mode.name+"/tcp-connect", func(b *testing.B) {
			for b.Loop() {
				if a := tp.via(tp.pod1).dialTCP(masqOutIP+":"+masqEchoPort, 2*time.Second); a.err != nil {
					b.Fatal(a.err)
				}
			}
		})
		b.Run(mode.name+"/udp-roundtrip", func(b *testing.B) {
			// The programs' own cost per run: run-time stats are on (for
			// every program on the machine) while the benchmark holds them.
			if stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
				defer stats.Close()
			}
			progs := map[string]*ebpf.Program{"egress": rec.objs.SkiffTcEgress, "ingress": rec.objs.SkiffTcIngress}
			before := map[string]*ebpf.ProgramStats{}
			for name, p := range progs {
				if st, err := p.Stats(); err == nil {
					before[name] = st
				}
			}
			defer func() {
				for name, p := range progs {
					st, err := p.Stats()
					if err != nil || before[name] == nil || st.RunCount == before[name].RunCount {
						continue
					}
					b.ReportMetric(float64(st.Runtime-before[name].Runtime)/float64(st.RunCount-before[name].RunCount), name+"-ns/run")
				}
			}()
			err := tp.ns.do(tp.pod1, func() error {
				c, err := net.Dial("udp4", masqOutIP+":"+masqUDPPort)
				if err != nil {
					return err
				}
				defer c.Close()
				buf := make([]byte, 1500)
				for b.Loop() {
					c.SetDeadline(time.Now().Add(2 * time.Second))
					if _, err := c.Write([]byte("hi")); err != nil {
						return err
					}
					if _, err := c.Read(buf); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
		if mode.cidrs == nil {
			rec.Close()
		} else if err := rec.Uninstall(); err != nil {
			b.Error(err)
		}
	}
}
