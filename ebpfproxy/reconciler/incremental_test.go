//go:build linux

package reconciler

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// TestSyncWritesOnlyChanged programs many services, then changes one at a
// time: each sync must rebuild only the changed service's unit and write
// only its entries, and a Resync afterwards (which compares everything
// with the kernel's maps) must find nothing to repair.
func TestSyncWritesOnlyChanged(t *testing.T) {
	e := newEnv(t)
	const n = 50
	vip := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 250, 10, byte(i + 1)}), 80)
	}
	bes := func(i, gen, count int) []netip.AddrPort {
		var out []netip.AddrPort
		for j := range count {
			out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, byte(20 + i), byte(10*gen + j + 1)}), 8080))
		}
		return out
	}
	name := func(i int) tables.ServiceName {
		return tables.ServiceName{Namespace: "test", Name: fmt.Sprintf("s%d", i)}
	}
	for i := range n {
		e.service(name(i).Name, vip(i), tables.TCP, 0, bes(i, 0, 3)...)
	}
	st := e.sync()
	if st.ServicesWritten != n || st.BackendsWritten != 3*n || st.TablesWritten != n {
		t.Fatalf("first sync wrote %+v, want %d services, %d backends, %d tables", st, n, 3*n, n)
	}
	resyncClean := func(what string) {
		t.Helper()
		st, err := e.rec.Resync(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Changes() != 0 {
			t.Errorf("%s: Resync had to repair %+v", what, st)
		}
	}
	resyncClean("after the first sync")

	for _, tc := range []struct {
		name string
		do   func()
		want SyncStats
	}{{
		name: "one backend replaced",
		do:   func() { e.setBackends(name(7), tables.TCP, append(bes(7, 0, 2), bes(7, 1, 1)...)...) },
		want: SyncStats{BackendsWritten: 1, BackendsDeleted: 1, TablesWritten: 1},
	}, {
		name: "one backend added",
		do:   func() { e.setBackends(name(8), tables.TCP, bes(8, 0, 4)...) },
		want: SyncStats{BackendsWritten: 1, ServicesWritten: 1, TablesWritten: 1},
	}, {
		name: "affinity enabled",
		do:   func() { e.service(name(9).Name, vip(9), tables.TCP, time.Hour, bes(9, 0, 3)...) },
		want: SyncStats{ServicesWritten: 1, MatchWritten: 3},
	}, {
		name: "service deleted",
		do:   func() { e.tables.DeleteService(name(10)) },
		want: SyncStats{ServicesDeleted: 1, TablesDeleted: 1, BackendsDeleted: 3},
	}, {
		name: "service added",
		do:   func() { e.service("new", netip.MustParseAddrPort("10.250.11.1:80"), tables.TCP, 0, bes(200, 0, 2)...) },
		want: SyncStats{ServicesWritten: 1, TablesWritten: 1, BackendsWritten: 2},
	}, {
		name: "backends shared with another service",
		do:   func() { e.setBackends(name(11), tables.TCP, bes(12, 0, 3)...) },
		want: SyncStats{TablesWritten: 1, BackendsDeleted: 3},
	}, {
		name: "nothing changed",
		do:   func() { e.setBackends(name(13), tables.TCP, bes(13, 0, 3)...) },
		want: SyncStats{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			built := e.rec.stats.unitsBuilt
			tc.do()
			st := e.sync()
			if st != tc.want {
				t.Errorf("sync wrote %+v, want %+v", st, tc.want)
			}
			wantBuilt := 1
			if tc.want == (SyncStats{}) {
				wantBuilt = 0
			}
			if tc.want.ServicesDeleted > 0 {
				wantBuilt = 0
			}
			if got := e.rec.stats.unitsBuilt - built; got != wantBuilt {
				t.Errorf("sync rebuilt %d units, want %d", got, wantBuilt)
			}
			resyncClean(tc.name)
		})
	}
}

// TestMaglevMemo checks that units with the same backends share one
// Maglev computation.
func TestMaglevMemo(t *testing.T) {
	e := newEnv(t)
	shared := []netip.AddrPort{netip.MustParseAddrPort("10.244.40.1:8080"), netip.MustParseAddrPort("10.244.40.2:8080")}
	for i := range 5 {
		e.service(fmt.Sprintf("m%d", i), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 250, 12, byte(i + 1)}), 80), tables.TCP, 0, shared...)
	}
	built := e.rec.stats.tablesBuilt
	st := e.sync()
	if st.TablesWritten != 5 {
		t.Errorf("wrote %d tables, want 5", st.TablesWritten)
	}
	if got := e.rec.stats.tablesBuilt - built; got != 1 {
		t.Errorf("built %d Maglev tables for 5 services with the same backends, want 1", got)
	}
}
