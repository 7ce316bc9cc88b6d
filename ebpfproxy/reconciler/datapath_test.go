//go:build linux

package reconciler

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

func counts(names []string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		m[n]++
	}
	return m
}

func expectAll(t *testing.T, got []string, want string) {
	t.Helper()
	for _, g := range got {
		if g != want {
			t.Fatalf("got %q, want every entry %q (all: %v)", g, want, got)
		}
	}
}

func expectSpread(t *testing.T, rep reply, n int, backends ...netip.AddrPort) {
	t.Helper()
	if len(rep.Errs) > 0 {
		t.Fatalf("errors: %v", rep.Errs)
	}
	if len(rep.Backends) != n {
		t.Fatalf("%d answers, want %d", len(rep.Backends), n)
	}
	c := counts(rep.Backends)
	for _, b := range backends {
		if c[b.String()] == 0 {
			t.Errorf("backend %s got none of %d connections: %v", b, n, c)
		}
	}
	if len(c) != len(backends) {
		t.Errorf("answers from %v, want only %v", c, backends)
	}
}

func TestTCPv4(t *testing.T) {
	e := newEnv(t)
	b1, b2, b3 := tcpBackend(t, "127.0.0.2:0"), tcpBackend(t, "127.0.0.3:0"), tcpBackend(t, "127.0.0.4:0")
	vip := netip.MustParseAddrPort("10.250.0.10:80")
	e.service("web", vip, tables.TCP, 0, b1, b2, b3)
	e.sync()
	c := e.client()

	rep := c.do(request{Op: "tcp", Addr: vip.String(), N: 45})
	expectSpread(t, rep, 45, b1, b2, b3)
	expectAll(t, rep.Peers, vip.String())

	// Not a frontend: untouched, and the peer is the real address.
	rep = c.do(request{Op: "tcp", Addr: b1.String(), N: 1})
	expectAll(t, rep.Backends, b1.String())
	expectAll(t, rep.Peers, b1.String())
}

// TestFrontendKeyIsExact uses a loopback VIP, so that what is not translated
// ends at the local kernel (ECONNREFUSED: nobody listens there) instead of
// leaving the machine: only the exact address, port and protocol match.
func TestFrontendKeyIsExact(t *testing.T) {
	e := newEnv(t)
	b := tcpBackend(t, "127.0.0.2:0")
	vip := netip.MustParseAddrPort("127.0.0.250:80")
	e.service("local", vip, tables.TCP, 0, b)
	e.sync()
	c := e.client()
	expectSpread(t, c.do(request{Op: "tcp", Addr: vip.String(), N: 1}), 1, b)
	for _, r := range []request{
		{Op: "tcp", Addr: "127.0.0.250:81", N: 1},              // other port
		{Op: "tcp", Addr: "127.0.0.251:80", N: 1},              // other address
		{Op: "udp", Addr: vip.String(), N: 1, Connected: true}, // other protocol
	} {
		if rep := c.do(r); len(rep.Backends) != 0 || !slices.Equal(rep.Errs, []string{"ECONNREFUSED"}) {
			t.Errorf("%+v was translated or failed oddly: %+v", r, rep)
		}
	}
}

func TestUDPv4(t *testing.T) {
	e := newEnv(t)
	b1, b2 := udpBackend(t, "127.0.0.2:0"), udpBackend(t, "127.0.0.3:0")
	vip := netip.MustParseAddrPort("10.250.0.53:53")
	e.service("dns", vip, tables.UDP, 0, b1, b2)
	e.sync()
	c := e.client()
	for _, connected := range []bool{false, true} {
		rep := c.do(request{Op: "udp", Addr: vip.String(), N: 30, Connected: connected})
		expectSpread(t, rep, 30, b1, b2)
		// recvmsg (unconnected) and getpeername (connected) show the VIP.
		expectAll(t, rep.Peers, vip.String())
	}
}

func TestIPv6(t *testing.T) {
	e := newEnv(t)
	probe := tcpBackendOrSkip(t, "[::1]:0")
	b1, b2 := probe, tcpBackend(t, "[::1]:0")
	u1, u2 := udpBackend(t, "[::1]:0"), udpBackend(t, "[::1]:0")
	vip := netip.MustParseAddrPort("[fd00:250::10]:80")
	dnsVIP := netip.MustParseAddrPort("[fd00:250::53]:53")
	e.service("web6", vip, tables.TCP, 0, b1, b2)
	e.service("dns6", dnsVIP, tables.UDP, 0, u1, u2)
	e.sync()
	c := e.client()

	rep := c.do(request{Op: "tcp", Addr: vip.String(), N: 30})
	expectSpread(t, rep, 30, b1, b2)
	expectAll(t, rep.Peers, vip.String())
	for _, connected := range []bool{false, true} {
		rep = c.do(request{Op: "udp", Network: "udp6", Addr: dnsVIP.String(), N: 30, Connected: connected})
		expectSpread(t, rep, 30, u1, u2)
		expectAll(t, rep.Peers, dnsVIP.String())
	}
}

func tcpBackendOrSkip(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	if _, err := netListenProbe(addr); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	return tcpBackend(t, addr)
}

// TestIPv4MappedOnIPv6Socket: a dual-stack socket sending to an IPv4 VIP
// goes through the IPv6 hooks with ::ffff:VIP, which the maps' IPv4-mapped
// keys match.
func TestIPv4MappedOnIPv6Socket(t *testing.T) {
	e := newEnv(t)
	u1 := udpBackend(t, "127.0.0.2:0")
	vip := netip.MustParseAddrPort("10.250.0.54:53")
	e.service("dns", vip, tables.UDP, 0, u1)
	e.sync()
	rep := e.client().do(request{Op: "udp", Network: "udp", Addr: vip.String(), N: 3})
	expectSpread(t, rep, 3, u1)
	expectAll(t, rep.Peers, vip.String())
}

func TestMultiPort(t *testing.T) {
	e := newEnv(t)
	web, dns := tcpBackend(t, "127.0.0.5:0"), udpBackend(t, "127.0.0.5:0")
	sn := tables.ServiceName{Namespace: "test", Name: "multi"}
	vip := netip.MustParseAddr("10.250.0.20")
	if err := e.tables.UpsertService(tables.Service{Name: sn, ClusterIPs: []netip.Addr{vip}, Ports: []tables.ServicePort{
		{Name: "http", Protocol: tables.TCP, Port: 80}, {Name: "dns", Protocol: tables.UDP, Port: 53}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.tables.UpsertBackends(sn, "s1", []tables.Backend{
		{Addr: web, Protocol: tables.TCP, PortName: "http", Ready: true, Serving: true},
		{Addr: dns, Protocol: tables.UDP, PortName: "dns", Ready: true, Serving: true},
	}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	c := e.client()
	rep := c.do(request{Op: "tcp", Addr: "10.250.0.20:80", N: 3})
	expectSpread(t, rep, 3, web)
	rep = c.do(request{Op: "udp", Addr: "10.250.0.20:53", N: 3})
	expectSpread(t, rep, 3, dns)
	expectAll(t, rep.Peers, "10.250.0.20:53")
}

func TestNoBackendsRefuses(t *testing.T) {
	e := newEnv(t)
	vip := netip.MustParseAddrPort("10.250.0.30:80")
	dnsVIP := netip.MustParseAddrPort("10.250.0.30:53")
	web := e.service("empty", vip, tables.TCP, 0)
	dns := e.service("empty-dns", dnsVIP, tables.UDP, 0)
	e.sync()
	c := e.client()
	rep := c.do(request{Op: "tcp", Addr: vip.String(), N: 2})
	if !slices.Equal(rep.Errs, []string{"ECONNREFUSED", "ECONNREFUSED"}) {
		t.Errorf("TCP to a service without backends: %+v, want ECONNREFUSED twice", rep)
	}
	rep = c.do(request{Op: "udp", Addr: dnsVIP.String(), N: 1})
	if !slices.Equal(rep.Errs, []string{"ECONNREFUSED"}) {
		t.Errorf("UDP to a service without backends: %+v, want ECONNREFUSED", rep)
	}

	// Level-based: once backends appear, the same frontends work.
	b, u := tcpBackend(t, "127.0.0.6:0"), udpBackend(t, "127.0.0.6:0")
	e.setBackends(web, tables.TCP, b)
	e.setBackends(dns, tables.UDP, u)
	e.sync()
	expectSpread(t, c.do(request{Op: "tcp", Addr: vip.String(), N: 2}), 2, b)
	expectSpread(t, c.do(request{Op: "udp", Addr: dnsVIP.String(), N: 2}), 2, u)

	// And back to none.
	e.setBackends(web, tables.TCP)
	e.sync()
	if rep := c.do(request{Op: "tcp", Addr: vip.String(), N: 1}); !slices.Equal(rep.Errs, []string{"ECONNREFUSED"}) {
		t.Errorf("after scaling to zero: %+v", rep)
	}
	snap, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Frontends {
		if f.Frontend == vip && snap.Stats[f.ServiceID].Refused == 0 {
			t.Errorf("refusals were not counted: %+v", snap.Stats[f.ServiceID])
		}
	}
}

func TestNodePortAndExternalIP(t *testing.T) {
	e := newEnv(t)
	b := tcpBackend(t, "127.0.0.7:0")
	sn := tables.ServiceName{Namespace: "test", Name: "np"}
	if err := e.tables.UpsertService(tables.Service{Name: sn,
		ClusterIPs:      []netip.Addr{netip.MustParseAddr("10.250.0.40")},
		ExternalIPs:     []netip.Addr{netip.MustParseAddr("10.250.254.1")},
		LoadBalancerIPs: []netip.Addr{netip.MustParseAddr("10.250.253.1")},
		Ports:           []tables.ServicePort{{Name: "p", Protocol: tables.TCP, Port: 80, NodePort: 30080}}}); err != nil {
		t.Fatal(err)
	}
	e.setBackends(sn, tables.TCP, b)
	e.sync()
	c := e.client()
	for _, fe := range []string{"10.250.0.40:80", "10.250.255.1:30080", "10.250.254.1:80", "10.250.253.1:80"} {
		rep := c.do(request{Op: "tcp", Addr: fe, N: 2})
		expectSpread(t, rep, 2, b)
		expectAll(t, rep.Peers, fe)
	}
}

func TestAffinity(t *testing.T) {
	e := newEnv(t)
	b1, b2, b3 := tcpBackend(t, "127.0.0.8:0"), tcpBackend(t, "127.0.0.9:0"), tcpBackend(t, "127.0.0.10:0")
	vip := netip.MustParseAddrPort("10.250.0.50:80")
	sn := e.service("sticky", vip, tables.TCP, 3*time.Hour, b1, b2, b3)
	e.sync()
	c := e.client()

	rep := c.do(request{Op: "tcp", Addr: vip.String(), N: 30})
	if len(rep.Errs) > 0 || len(counts(rep.Backends)) != 1 {
		t.Fatalf("with ClientIP affinity every connection should reach one backend: %v %v", counts(rep.Backends), rep.Errs)
	}
	first := netip.MustParseAddrPort(rep.Backends[0])

	// The sticky backend goes away: the client moves, and sticks again.
	var rest []netip.AddrPort
	for _, b := range []netip.AddrPort{b1, b2, b3} {
		if b != first {
			rest = append(rest, b)
		}
	}
	e.setBackends(sn, tables.TCP, rest...)
	e.sync()
	rep = c.do(request{Op: "tcp", Addr: vip.String(), N: 20})
	if len(rep.Errs) > 0 || len(counts(rep.Backends)) != 1 || rep.Backends[0] == first.String() {
		t.Fatalf("after removing %s: %v %v", first, counts(rep.Backends), rep.Errs)
	}

	// With a 1s timeout, a connection after more than a second of silence
	// is balanced afresh, so it lands on another backend two times in three;
	// while the affinity holds it never would. Each use refreshes the
	// timer, so the gap has to be idle time.
	e.service("sticky", vip, tables.TCP, time.Second, b1, b2, b3)
	e.sync()
	last := c.do(request{Op: "tcp", Addr: vip.String(), N: 1}).Backends[0]
	for round := 0; ; round++ {
		time.Sleep(1200 * time.Millisecond) // the idle gap under test, not synchronisation
		got := c.do(request{Op: "tcp", Addr: vip.String(), N: 1})
		if len(got.Errs) > 0 {
			t.Fatal(got.Errs)
		}
		if got.Backends[0] != last {
			break
		}
		if round == 12 {
			t.Fatalf("affinity with a 1s timeout never expired (always %s)", last)
		}
	}
}

// TestRestartAdoption closes the reconciler (as a crash would), checks the
// pinned datapath keeps working with no process, then opens a new one from
// the pins: it adopts the maps and links and has nothing to write.
func TestRestartAdoption(t *testing.T) {
	e := newEnv(t)
	b1, b2 := tcpBackend(t, "127.0.0.11:0"), tcpBackend(t, "127.0.0.12:0")
	u1 := udpBackend(t, "127.0.0.11:0")
	vip := netip.MustParseAddrPort("10.250.0.60:80")
	dnsVIP := netip.MustParseAddrPort("10.250.0.60:53")
	sn := e.service("web", vip, tables.TCP, 0, b1, b2)
	e.service("dns", dnsVIP, tables.UDP, time.Hour, u1)
	e.sync()
	before, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	open := c.do(request{Op: "open", Addr: vip.String()})
	if len(open.Errs) > 0 {
		t.Fatalf("open: %v", open.Errs)
	}

	if err := e.rec.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.rec = nil
	// No proxy process: pinned links and maps still translate.
	expectSpread(t, c.do(request{Op: "tcp", Addr: vip.String(), N: 20}), 20, b1, b2)
	expectAll(t, c.do(request{Op: "udp", Addr: dnsVIP.String(), N: 2}).Peers, dnsVIP.String())

	e.rec = e.open(1021)
	if a := e.rec.Adopted(); a.Links != 8 || a.Services != 2 || a.Backends != 3 {
		t.Errorf("Adopted() = %+v, want 8 links, 2 services, 3 backends", a)
	}
	if st := e.sync(); st.Changes() != 0 {
		t.Errorf("first sync after adoption wrote %+v, want nothing", st)
	}
	after, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() {
		t.Errorf("maps changed across the restart:\n%s\nvs\n%s", before, after)
	}
	// The connection made before the restart is intact and still sees the VIP.
	ping := c.do(request{Op: "ping", ID: open.ID})
	if len(ping.Errs) > 0 || ping.Backends[0] != open.Backends[0] || ping.Peers[0] != vip.String() {
		t.Errorf("old connection after restart: %+v (opened %+v)", ping, open)
	}
	// New connections translate, and a change now costs a few writes only.
	expectSpread(t, c.do(request{Op: "tcp", Addr: vip.String(), N: 20}), 20, b1, b2)
	b3 := tcpBackend(t, "127.0.0.13:0")
	e.setBackends(sn, tables.TCP, b1, b2, b3)
	st := e.sync()
	// The new table in a free slot, the frontend flipped to it, the old slot freed.
	if st.BackendsWritten != 1 || st.TablesWritten != 1 || st.ServicesWritten != 1 || st.TablesDeleted != 1 || st.Changes() != 4 {
		t.Errorf("adding one backend wrote %+v", st)
	}
	expectSpread(t, c.do(request{Op: "tcp", Addr: vip.String(), N: 45}), 45, b1, b2, b3)
}

// TestBackendChangeMovesFew: unconnected UDP sockets pick their slot by
// socket cookie, so the Maglev table decides where each socket's datagrams
// go; growing from 5 to 6 backends should move about a sixth of them.
func TestBackendChangeMovesFew(t *testing.T) {
	e := newEnv(t)
	var bs []netip.AddrPort
	for i := range 6 {
		bs = append(bs, udpBackend(t, netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)}).String()+":0"))
	}
	vip := netip.MustParseAddrPort("10.250.0.70:53")
	sn := e.service("dns", vip, tables.UDP, 0, bs[:5]...)
	e.sync()
	c := e.client()
	const n = 300
	before := c.do(request{Op: "udp-open", Addr: vip.String(), N: n})
	if len(before.Errs) > 0 || len(before.Backends) != n {
		t.Fatalf("first round: %d answers, errors %v", len(before.Backends), before.Errs)
	}
	// Stable without a change.
	again := c.do(request{Op: "udp-again", Addr: vip.String()})
	if !slices.Equal(again.Backends, before.Backends) {
		t.Fatal("sockets changed backend with no backend change")
	}

	e.setBackends(sn, tables.UDP, bs...)
	e.sync()
	after := c.do(request{Op: "udp-again", Addr: vip.String()})
	if len(after.Errs) > 0 || len(after.Backends) != n {
		t.Fatalf("after the change: %d answers, errors %v", len(after.Backends), after.Errs)
	}
	moved, toNew := 0, 0
	for i := range before.Backends {
		if before.Backends[i] != after.Backends[i] {
			moved++
			if after.Backends[i] == bs[5].String() {
				toNew++
			}
		}
	}
	t.Logf("%d of %d sockets moved, %d of them to the new backend", moved, n, toNew)
	// Ideal: n/6 = 50, all to the new backend; Maglev moves a few more
	// between old backends (a socket's slot is a hash of its random cookie,
	// so the count varies from run to run). Random selection would move 5/6.
	if moved > n/6*2 || toNew == 0 || toNew < moved/2 {
		t.Errorf("%d of %d sockets moved (%d to the new backend), want about %d, nearly all to the new one", moved, n, toNew, n/6)
	}
}

// TestEstablishedSurvivesBackendRemoval: the socket is connected to the
// backend itself, so removing the backend from the service leaves it up.
func TestEstablishedSurvivesBackendRemoval(t *testing.T) {
	e := newEnv(t)
	b1 := tcpBackend(t, "127.0.0.14:0")
	vip := netip.MustParseAddrPort("10.250.0.80:80")
	sn := e.service("web", vip, tables.TCP, 0, b1)
	e.sync()
	c := e.client()
	open := c.do(request{Op: "open", Addr: vip.String()})
	e.setBackends(sn, tables.TCP)
	e.sync()
	ping := c.do(request{Op: "ping", ID: open.ID})
	if len(ping.Errs) > 0 || ping.Backends[0] != b1.String() {
		t.Errorf("ping after removal: %+v", ping)
	}
}
