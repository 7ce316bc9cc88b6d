//go:build linux

package reconciler

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// TestFullSyncBreakdown prints where one full sync of
// SKIFF_PROFILE_SYNC services × 10 backends (Maglev M=251) spends its
// time: computing (ids, units, Maglev tables) and each apply step. It is
// skipped unless SKIFF_PROFILE_SYNC is set; it prints figures, never
// pass/fail (beyond the sync succeeding).
// cpuTime is the process's user and system time so far: on a loaded
// machine it says what a phase costs better than the wall clock does.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestFullSyncBreakdown(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("SKIFF_PROFILE_SYNC"))
	if err != nil {
		t.Skip("set SKIFF_PROFILE_SYNC=10000")
	}
	requirePrivileges(t)
	m := uint32(envInt("SKIFF_BENCH_MAGLEV", 251))
	pinDir := testPinDir(t)
	cg, cgFD := testCgroup(t)
	defer cgFD.Close()
	tb := tables.New(tables.Node{Name: "node-a"})
	rec, err := New(Config{Tables: tb, PinDir: pinDir, CgroupPath: cg, MaglevTableSize: m,
		Sizes: bpf.Sizes{Services: uint32(n + 1024), Backends: uint32(10*n + 1024), Affinity: 1024, RevNat: 65536, Conntrack: 1024}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer rec.Uninstall()
	for i := range n {
		name := tables.ServiceName{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i)}
		if err := tb.UpsertService(tables.Service{Name: name, ClusterIPs: []netip.Addr{nthAddr("10.224.0.0", i)},
			Ports: []tables.ServicePort{{Name: "http", Protocol: tables.TCP, Port: 80}}}); err != nil {
			t.Fatal(err)
		}
		var bs []tables.Backend
		for j := range 10 {
			bs = append(bs, tables.Backend{Addr: netip.AddrPortFrom(nthAddr("10.128.0.0", 10*i+j), 8080), Protocol: tables.TCP,
				PortName: "http", NodeName: "node-a", Ready: true, Serving: true})
		}
		if err := tb.UpsertBackends(name, "slice", bs); err != nil {
			t.Fatal(err)
		}
	}
	var marks []string
	var times []time.Time
	var cpus []time.Duration
	rec.afterStep = func(s step) {
		marks, times, cpus = append(marks, string(s)), append(times, time.Now()), append(cpus, cpuTime())
	}
	runtime.GC()
	start, cpu0 := time.Now(), cpuTime()
	if _, err := rec.Sync(context.Background()); err != nil {
		t.Fatalf("full sync: %v", err)
	}
	total, cpu := time.Since(start), cpuTime()-cpu0
	prev, prevCPU := start, cpu0
	fmt.Printf("full sync of %d services × 10 backends, M=%d: %s wall, %s CPU (user+sys, all threads)\n", n, m, round(total), round(cpu))
	for i, mk := range marks {
		if mk == string(stepApplyStart) {
			mk = "compute"
		}
		fmt.Printf("  %-22s %10s wall %10s CPU\n", mk, round(times[i].Sub(prev)), round(cpus[i]-prevCPU))
		prev, prevCPU = times[i], cpus[i]
	}
}
