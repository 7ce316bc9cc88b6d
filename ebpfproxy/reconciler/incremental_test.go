//go:build linux

package reconciler

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
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
		// A changed table goes to a new slot, its frontend is flipped to
		// it and the old slot freed.
		want: SyncStats{BackendsWritten: 1, BackendsDeleted: 1, ServicesWritten: 1, TablesWritten: 1, TablesDeleted: 1},
	}, {
		name: "one backend added",
		do:   func() { e.setBackends(name(8), tables.TCP, bes(8, 0, 4)...) },
		want: SyncStats{BackendsWritten: 1, ServicesWritten: 1, TablesWritten: 1, TablesDeleted: 1},
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
		want: SyncStats{ServicesWritten: 1, TablesWritten: 1, TablesDeleted: 1, BackendsDeleted: 3},
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

// TestSyncAfterFailure makes a write fail (the services map is full of
// entries added behind the reconciler's back) and an id allocation fail
// (more units than ids): after each, once the cause is gone, the next sync
// must bring the maps to the desired state, so that Resync finds nothing
// to repair.
func TestSyncAfterFailure(t *testing.T) {
	e := newEnv(t)
	be := netip.MustParseAddrPort("10.244.50.1:8080")
	e.service("a", netip.MustParseAddrPort("10.250.13.1:80"), tables.TCP, 0, be)
	e.sync()

	// Fill the services map with strays, then add a service.
	var strays []netip.AddrPort
	for i := 0; ; i++ {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 251, byte(i >> 8), byte(i)}), 80)
		if err := e.rec.maps.services.Put(frontendKey(ap, 6), bpf.ServiceValue{Id: 900}); err != nil {
			break
		}
		strays = append(strays, ap)
	}
	e.service("b", netip.MustParseAddrPort("10.250.13.2:80"), tables.TCP, 0, be)
	if _, err := e.rec.Sync(e.ctx); err == nil {
		t.Fatal("sync into a full services map: want an error")
	}
	for _, ap := range strays {
		if err := e.rec.maps.services.Delete(frontendKey(ap, 6)); err != nil {
			t.Fatal(err)
		}
	}
	e.sync()
	if st, err := e.rec.Resync(e.ctx); err != nil || st.Changes() != 0 {
		t.Errorf("after the failed write was retried, Resync repaired %+v (err %v)", st, err)
	}

	// More units than service ids (the map holds 1024: ids 1..1023).
	for i := range 1100 {
		e.service(fmt.Sprintf("x%d", i), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 250, byte(14 + i/250), byte(i%250 + 1)}), 80), tables.TCP, 0, be)
	}
	if _, err := e.rec.Sync(e.ctx); err == nil {
		t.Fatal("sync with more units than ids: want an error")
	}
	for i := range 1100 {
		if i >= 10 {
			e.tables.DeleteService(tables.ServiceName{Namespace: "test", Name: fmt.Sprintf("x%d", i)})
		}
	}
	e.sync()
	if st, err := e.rec.Resync(e.ctx); err != nil || st.Changes() != 0 {
		t.Errorf("after the failed allocation was retried, Resync repaired %+v (err %v)", st, err)
	}
	snap, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Frontends) != 12 {
		t.Errorf("%d frontends, want 12 (a, b, x0..x9):\n%s", len(snap.Frontends), snap)
	}
}

// TestResyncRepairsReplacedEntries changes values behind the reconciler's
// back, where the keys stay: a backend's address, a Maglev table swapped
// for another, an affinity membership removed. Resync compares with the
// record and must put every one back.
func TestResyncRepairsReplacedEntries(t *testing.T) {
	e := newEnv(t)
	b1, b2 := netip.MustParseAddrPort("10.244.60.1:8080"), netip.MustParseAddrPort("10.244.60.2:8080")
	e.service("s", netip.MustParseAddrPort("10.250.20.1:80"), tables.TCP, time.Hour, b1, b2)
	e.sync()
	want, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	be := want.Backends[0]
	var v bpf.BackendValue
	v.Addr.W = bpf.Addr(netip.MustParseAddr("10.244.61.1"))
	v.Port = bpf.Port(9)
	if err := e.rec.maps.backends.Put(be.ID, v); err != nil {
		t.Fatal(err)
	}
	svcID := want.Tables[0].ServiceID
	var val bpf.ServiceValue
	if err := e.rec.maps.services.Lookup(frontendKey(netip.MustParseAddrPort("10.250.20.1:80"), 6), &val); err != nil {
		t.Fatal(err)
	}
	// The chunk holding the table replaced by an empty one of its size.
	other, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4,
		MaxEntries: (chunkSlots / 1021) * 1021, Flags: bpf.ChunkFlags})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rec.maps.chunks.outer.Put(val.LutChunk, other); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if err := e.rec.maps.match.Delete(bpf.AffinityMatchKey{SvcId: svcID, BackendId: be.ID}); err != nil {
		t.Fatal(err)
	}

	st, err := e.rec.Resync(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The table is written to a new slot and its frontend flipped to it.
	if st != (SyncStats{BackendsWritten: 1, TablesWritten: 1, TablesDeleted: 1, ServicesWritten: 1, MatchWritten: 1}) {
		t.Errorf("Resync wrote %+v, want 1 backend, 1 table moved (its frontend rewritten), 1 membership", st)
	}
	got, _ := e.rec.Dump()
	if got.String() != want.String() {
		t.Errorf("after Resync:\n%s\nwant:\n%s", got, want)
	}
	if st, err := e.rec.Resync(e.ctx); err != nil || st.Changes() != 0 {
		t.Errorf("second Resync repaired %+v (err %v)", st, err)
	}
}

// TestMaglevChunks checks that tables live in memory-mappable chunks, many
// to a chunk, at the location their frontends name, and that the datapath
// uses them.
func TestMaglevChunks(t *testing.T) {
	e := newEnv(t)
	b1, b2 := tcpBackend(t, "127.0.0.2:0"), tcpBackend(t, "127.0.0.3:0")
	vip := netip.MustParseAddrPort("10.250.0.40:80")
	e.service("flags", vip, tables.TCP, 0, b1, b2)
	e.service("other", netip.MustParseAddrPort("10.250.0.41:80"), tables.TCP, 0, b1)
	e.sync()
	if err := consistent(e.rec.maps); err != nil {
		t.Fatal(err)
	}
	var v1, v2 bpf.ServiceValue
	if err := e.rec.maps.services.Lookup(frontendKey(vip, 6), &v1); err != nil {
		t.Fatal(err)
	}
	if err := e.rec.maps.services.Lookup(frontendKey(netip.MustParseAddrPort("10.250.0.41:80"), 6), &v2); err != nil {
		t.Fatal(err)
	}
	if v1.LutChunk != v2.LutChunk || v1.LutOff == v2.LutOff || v1.LutOff%1021 != 0 || v2.LutOff%1021 != 0 {
		t.Errorf("tables at chunk %d+%d and %d+%d, want one chunk, distinct slots of 1021", v1.LutChunk, v1.LutOff, v2.LutChunk, v2.LutOff)
	}
	var inner *ebpf.Map
	if err := e.rec.maps.chunks.outer.Lookup(v1.LutChunk, &inner); err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	if got := inner.Flags(); got != bpf.ChunkFlags {
		t.Errorf("chunk flags %#x, want %#x", got, bpf.ChunkFlags)
	}
	if got := inner.MaxEntries(); got != (chunkSlots/1021)*1021 {
		t.Errorf("chunk of %d entries, want %d", got, (chunkSlots/1021)*1021)
	}
	rep := e.client().do(request{Op: "tcp", Addr: vip.String(), N: 40})
	expectSpread(t, rep, 40, b1, b2)
}

// TestTableSlotsRetire changes one service's backends sync after sync and
// checks where its table goes: each time to a slot no frontend named in the
// last two syncs (a hook may still read the old table just after its
// frontend is flipped), and back to the first slot once it has drained.
func TestTableSlotsRetire(t *testing.T) {
	e := newEnv(t)
	vip := netip.MustParseAddrPort("10.250.0.43:80")
	be := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, 70, byte(i + 1)}), 8080)
	}
	sn := e.service("retire", vip, tables.TCP, 0, be(0))
	var locs []lutLoc
	for i := range 4 {
		if i > 0 {
			e.setBackends(sn, tables.TCP, be(0), be(i))
		}
		e.sync()
		if err := consistent(e.rec.maps); err != nil {
			t.Fatal(err)
		}
		var v bpf.ServiceValue
		if err := e.rec.maps.services.Lookup(frontendKey(vip, 6), &v); err != nil {
			t.Fatal(err)
		}
		locs = append(locs, lutLoc{v.LutChunk, v.LutOff})
	}
	if locs[1] == locs[0] || locs[2] == locs[0] || locs[2] == locs[1] {
		t.Errorf("table locations %v: a slot was reused within two syncs of its release", locs)
	}
	if locs[3] != locs[0] {
		t.Errorf("table locations %v: the first slot was not reused once drained", locs)
	}
}

// TestTableSizeChangeAcrossRestart restarts the reconciler with another
// Maglev table size: the tables move to chunks of the new size, the
// datapath uses them, and once the old slots have drained the chunk of the
// old size is deleted.
func TestTableSizeChangeAcrossRestart(t *testing.T) {
	e := newEnv(t)
	b1, b2 := tcpBackend(t, "127.0.0.2:0"), tcpBackend(t, "127.0.0.3:0")
	vip := netip.MustParseAddrPort("10.250.0.44:80")
	e.service("resize", vip, tables.TCP, 0, b1, b2)
	e.sync()
	if err := e.rec.Close(); err != nil {
		t.Fatal(err)
	}
	e.rec = e.open(251)
	e.sync()
	if err := consistent(e.rec.maps); err != nil {
		t.Fatal(err)
	}
	snap, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Tables) != 1 || snap.Tables[0].Size != 251 {
		t.Fatalf("after the restart with M=251:\n%s", snap)
	}
	expectSpread(t, e.client().do(request{Op: "tcp", Addr: vip.String(), N: 40}), 40, b1, b2)
	// Two more changes drain the old slot; the old chunk then goes.
	other := tcpBackend(t, "127.0.0.4:0")
	e.service("other", netip.MustParseAddrPort("10.250.0.45:80"), tables.TCP, 0, other)
	e.sync()
	e.setBackends(tables.ServiceName{Namespace: "test", Name: "other"}, tables.TCP, other, b1)
	e.sync()
	sizes := map[uint32]int{}
	outer := e.rec.maps.chunks.outer
	for chunk := range outer.MaxEntries() {
		var kid uint32
		if err := outer.Lookup(chunk, &kid); errors.Is(err, ebpf.ErrKeyNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		m, err := ebpf.NewMapFromID(ebpf.MapID(kid))
		if err != nil {
			t.Fatal(err)
		}
		sizes[m.MaxEntries()]++
		m.Close()
	}
	if want := map[uint32]int{(chunkSlots / 251) * 251: 1}; !maps.Equal(sizes, want) {
		t.Errorf("chunks by entries %v, want %v", sizes, want)
	}
	expectSpread(t, e.client().do(request{Op: "tcp", Addr: vip.String(), N: 40}), 40, b1, b2)
}
