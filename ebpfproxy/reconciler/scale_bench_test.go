//go:build linux

package reconciler

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// TestBenchProxyScale is hack/bench-proxy.sh's measurement, skipped unless
// SKIFF_BENCH_PROXY lists service counts (e.g. "1000,10000,50000"). For each
// count N it programs N services × 10 backends and reports the full sync, a
// one-service change (a tables write, as an EndpointSlice event makes, until
// the running reconciler has written the maps), and blocking connect()
// p50/p99 to the first and last VIP against a direct connect to a backend,
// in the same run. For N up to SKIFF_BENCH_IPTABLES_MAX (default 10000)
// it builds kube-proxy-style iptables-legacy rules for the same services
// in a network namespace of its own and measures the same things there.
func TestBenchProxyScale(t *testing.T) {
	spec := os.Getenv("SKIFF_BENCH_PROXY")
	if spec == "" {
		t.Skip("set SKIFF_BENCH_PROXY=1000,10000,50000 (hack/bench-proxy.sh)")
	}
	requirePrivileges(t)
	iptMax := envInt("SKIFF_BENCH_IPTABLES_MAX", 10000)
	m := uint32(envInt("SKIFF_BENCH_MAGLEV", 251))
	dials := envInt("SKIFF_BENCH_DIALS", 5000)
	var rows []string
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			t.Fatalf("bad service count %q", f)
		}
		rows = append(rows, benchEBPF(t, n, m, dials))
		if n <= iptMax {
			rows = append(rows, benchIptables(t, n, dials))
		}
	}
	fmt.Printf("\n%-16s %8s %12s %14s %10s %8s %24s %24s %24s\n", "datapath", "services", "full sync", "one change", "resync", "Go heap", "connect first p50/p99", "connect last p50/p99", "direct p50/p99")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Printf("(one change = a tables write, as an EndpointSlice event makes, until the running reconciler has written the maps, median of 21; resync = re-read and compare with nothing to repair, median of 5; Go heap = the test process's live heap, tables and reconciler, after the full sync)\n")
	fmt.Printf("(10 backends per service; connect = blocking TCP connect+close over loopback, %d each, interleaved; eBPF Maglev M=%d)\n", dials, m)
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func nthAddr(base string, i int) netip.Addr {
	b := netip.MustParseAddr(base).As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(i)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// syncSignal is an Observer that reports each successful sync that wrote
// something or was full: a sync woken by a change already synced writes
// nothing and must not count as the change's.
type syncSignal struct{ ch chan time.Time }

func (s syncSignal) Synced(start time.Time, d time.Duration, full bool, st SyncStats, svcs, bes int, err error) {
	if err == nil && (full || st.Changes() > 0) {
		select {
		case s.ch <- time.Now():
		default:
		}
	}
}

func benchEBPF(t *testing.T, n int, m uint32, dials int) string {
	t.Helper()
	pinDir := testPinDir(t)
	cg, cgFD := testCgroup(t)
	defer cgFD.Close()
	// Real listeners for the first and last service; the rest point at
	// addresses nobody uses.
	var real []netip.AddrPort
	for i := range 10 {
		real = append(real, acceptAll(t, fmt.Sprintf("127.0.1.%d:0", i+1)))
	}
	node := tables.Node{Name: "node-a"}
	tb := tables.New(node)
	sig := syncSignal{ch: make(chan time.Time, 1)}
	rec, err := New(Config{Tables: tb, PinDir: pinDir, CgroupPath: cg, MaglevTableSize: m, Observer: sig,
		Sizes: bpf.Sizes{Services: uint32(n + 1024), Backends: uint32(10*n + 1024), Affinity: 1024, RevNat: 65536, Conntrack: 1024}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer rec.Uninstall()
	vip := func(i int) netip.AddrPort { return netip.AddrPortFrom(nthAddr("10.224.0.0", i), 80) }
	backendsOf := func(i, gen int) []tables.Backend {
		var bs []tables.Backend
		for j := range 10 {
			a := netip.AddrPortFrom(nthAddr("10.128.0.0", 10*i+j), 8080)
			if i == 0 || i == n-1 {
				a = real[j]
			}
			if j == 0 && gen > 0 {
				a = netip.AddrPortFrom(nthAddr("10.200.0.0", gen), 8080)
			}
			bs = append(bs, tables.Backend{Addr: a, Protocol: tables.TCP, PortName: "http", NodeName: "node-a", Ready: true, Serving: true})
		}
		return bs
	}
	for i := range n {
		name := tables.ServiceName{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i)}
		if err := tb.UpsertService(tables.Service{Name: name, ClusterIPs: []netip.Addr{vip(i).Addr()},
			Ports: []tables.ServicePort{{Name: "http", Protocol: tables.TCP, Port: 80}}}); err != nil {
			t.Fatal(err)
		}
		if err := tb.UpsertBackends(name, "slice", backendsOf(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	start := time.Now()
	if _, err := rec.Sync(ctx); err != nil {
		t.Fatalf("full sync: %v", err)
	}
	full := time.Since(start)
	<-sig.ch
	// What the tables and the reconciler's records take, with everything
	// programmed.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap := fmt.Sprintf("%.0fMB", float64(ms.HeapAlloc)/(1<<20))

	// One change at a time with the reconciler running, as in the proxy.
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { rec.Start(runCtx) })
	<-sig.ch // Start's initial (full) sync
	var changes []time.Duration
	for g := 1; g <= 21; g++ {
		i := n / 2
		name := tables.ServiceName{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i)}
		t0 := time.Now()
		if err := tb.UpsertBackends(name, "slice", backendsOf(i, g)); err != nil {
			t.Fatal(err)
		}
		select {
		case done := <-sig.ch:
			changes = append(changes, done.Sub(t0))
		case <-time.After(30 * time.Second):
			t.Fatal("change not synced")
		}
	}
	stop()
	wg.Wait()
	slices.Sort(changes)
	// The periodic resync: re-read the maps and compare with the record.
	var resyncs []time.Duration
	for range 5 {
		t0 := time.Now()
		st, err := rec.Resync(ctx)
		if err != nil {
			t.Fatalf("resync: %v", err)
		}
		if st.Changes() != 0 {
			t.Fatalf("resync repaired %+v", st)
		}
		resyncs = append(resyncs, time.Since(t0))
	}
	slices.Sort(resyncs)

	first, last := vip(0).String(), vip(n-1).String()
	direct := real[0].String()
	var pf, pl, pd []time.Duration
	leave := enterCgroupT(t, cg)
	for range dials {
		pf = append(pf, mustDial(t, first))
		pl = append(pl, mustDial(t, last))
		pd = append(pd, mustDial(t, direct))
	}
	leave()
	return fmt.Sprintf("%-16s %8d %12s %14s %10s %8s %24s %24s %24s", "eBPF", n, round(full), round(changes[len(changes)/2]),
		round(resyncs[len(resyncs)/2]), heap, pcts(pf), pcts(pl), pcts(pd))
}

// enterCgroupT moves the whole test process into dir (sockets belong to
// the cgroup they are made in); the returned func moves it back.
func enterCgroupT(t *testing.T, dir string) func() {
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(dir+"/cgroup.procs", pid, 0); err != nil {
		t.Fatalf("enter cgroup: %v", err)
	}
	var once sync.Once
	leave := func() {
		once.Do(func() {
			if err := os.WriteFile(cgroup2Root+"/cgroup.procs", pid, 0); err != nil {
				t.Errorf("leave cgroup: %v", err)
			}
		})
	}
	t.Cleanup(leave)
	return leave
}

func timeDial(addr string) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.Dial("tcp4", addr)
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.Close()
	return d, nil
}

func mustDial(t *testing.T, addr string) time.Duration {
	d, err := timeDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func pcts(ds []time.Duration) string {
	slices.Sort(ds)
	return fmt.Sprintf("%s / %s", round(ds[len(ds)/2]), round(ds[len(ds)*99/100]))
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// benchIptables builds the same services as kube-proxy's iptables mode
// does (KUBE-SERVICES → KUBE-SVC-* with statistic probabilities → KUBE-SEP-*
// DNAT) in a fresh network namespace with iptables-legacy.
func benchIptables(t *testing.T, n, dials int) string {
	t.Helper()
	if _, err := exec.LookPath("iptables-legacy-restore"); err != nil {
		return fmt.Sprintf("%-16s %8d   (iptables-legacy-restore not installed)", "iptables-legacy", n)
	}
	ns := newNetnsSet(t)
	netns := ns.add(fmt.Sprintf("ipt%d", n))
	// A veth pair stands in for a dummy device (no dummy module here).
	ns.ip("-n", netns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	ns.ip("-n", netns, "link", "set", "d0", "up")
	ns.ip("-n", netns, "link", "set", "d1", "up")
	ns.ip("-n", netns, "route", "add", "10.224.0.0/12", "dev", "d0")
	var real []string
	for j := range 10 {
		a := fmt.Sprintf("10.240.0.%d", j+1)
		ns.ip("-n", netns, "addr", "add", a+"/32", "dev", "d0")
		l, err := ns.listen(netns, "tcp4", a+":8080")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		real = append(real, a+":8080")
	}
	svcChain := func(b *strings.Builder, i, gen int) {
		for j := range 10 {
			be := netip.AddrPortFrom(nthAddr("10.128.0.0", 10*i+j), 8080).String()
			if i == 0 || i == n-1 {
				be = real[j]
			}
			if j == 0 && gen > 0 {
				be = netip.AddrPortFrom(nthAddr("10.200.0.0", gen), 8080).String()
			}
			sep := fmt.Sprintf("KUBE-SEP-%d-%d", i, j)
			fmt.Fprintf(b, "-A KUBE-SEP-%d-%d -p tcp -j DNAT --to-destination %s\n", i, j, be)
			if j < 9 {
				fmt.Fprintf(b, "-A KUBE-SVC-%d -m statistic --mode random --probability %.10f -j %s\n", i, 1/float64(10-j), sep)
			} else {
				fmt.Fprintf(b, "-A KUBE-SVC-%d -j %s\n", i, sep)
			}
		}
	}
	var b strings.Builder
	b.WriteString("*nat\n:KUBE-SERVICES - [0:0]\n")
	for i := range n {
		fmt.Fprintf(&b, ":KUBE-SVC-%d - [0:0]\n", i)
		for j := range 10 {
			fmt.Fprintf(&b, ":KUBE-SEP-%d-%d - [0:0]\n", i, j)
		}
	}
	b.WriteString("-A OUTPUT -j KUBE-SERVICES\n")
	for i := range n {
		fmt.Fprintf(&b, "-A KUBE-SERVICES -d %s/32 -p tcp --dport 80 -j KUBE-SVC-%d\n", nthAddr("10.224.0.0", i), i)
		svcChain(&b, i, 0)
	}
	b.WriteString("COMMIT\n")
	restore := func(rules string, args ...string) time.Duration {
		t.Helper()
		cmd := exec.Command("ip", append([]string{"netns", "exec", netns, "iptables-legacy-restore"}, args...)...)
		cmd.Stdin = strings.NewReader(rules)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("iptables-legacy-restore: %v: %s", err, out)
		}
		return time.Since(t0)
	}
	full := restore(b.String())
	// One service changed: its chains rewritten with --noflush.
	var changes []time.Duration
	for g := 1; g <= 3; g++ {
		var c strings.Builder
		i := n / 2
		fmt.Fprintf(&c, "*nat\n:KUBE-SVC-%d - [0:0]\n", i)
		for j := range 10 {
			fmt.Fprintf(&c, ":KUBE-SEP-%d-%d - [0:0]\n", i, j)
		}
		svcChain(&c, i, g)
		c.WriteString("COMMIT\n")
		changes = append(changes, restore(c.String(), "--noflush"))
	}
	slices.Sort(changes)
	first := netip.AddrPortFrom(nthAddr("10.224.0.0", 0), 80).String()
	last := netip.AddrPortFrom(nthAddr("10.224.0.0", n-1), 80).String()
	var pf, pl, pd []time.Duration
	if err := ns.do(netns, func() error {
		for range dials {
			for _, x := range []struct {
				addr string
				out  *[]time.Duration
			}{{first, &pf}, {last, &pl}, {real[0], &pd}} {
				d, err := timeDial(x.addr)
				if err != nil {
					return err
				}
				*x.out = append(*x.out, d)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%-16s %8d %12s %14s %10s %8s %24s %24s %24s", "iptables-legacy", n, round(full), round(changes[len(changes)/2]),
		"-", "-", pcts(pf), pcts(pl), pcts(pd))
}
