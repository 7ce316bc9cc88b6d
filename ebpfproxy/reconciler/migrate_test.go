//go:build linux

package reconciler

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// TestMigrateLegacyPins pins maps of the layout before Maglev chunks (a
// hash of maps with one plain table per service, 16-byte service values,
// backends in a hash map)
// with a conntrack entry, and checks that a new reconciler migrates them:
// before any sync the datapath translates through the migrated table, the
// old pins are gone, the conntrack entry is still there, and a sync of the
// same service keeps its id.
func TestMigrateLegacyPins(t *testing.T) {
	e := newEnv(t)
	if err := e.rec.Uninstall(); err != nil {
		t.Fatal(err)
	}
	b1, b2 := tcpBackend(t, "127.0.0.2:0"), tcpBackend(t, "127.0.0.3:0")
	vip := netip.MustParseAddrPort("10.250.0.42:80")
	spec, err := bpf.LoadSpec(smallSizes)
	if err != nil {
		t.Fatal(err)
	}
	dir := mapsDir(e.pinDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pin := func(name string, ms *ebpf.MapSpec) *ebpf.Map {
		t.Helper()
		ms = ms.Copy()
		ms.Pinning = ebpf.PinNone
		m, err := ebpf.NewMap(ms)
		if err != nil {
			t.Fatalf("create old %s: %v", name, err)
		}
		if err := m.Pin(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	old := func(name string, valueSize uint32) *ebpf.MapSpec {
		ms := spec.Maps[name].Copy()
		ms.Key, ms.Value, ms.ValueSize = nil, nil, valueSize
		return ms
	}
	svcs := pin(bpf.MapServices, old(bpf.MapServices, bpf.LegacyServiceValueSize))
	pin(bpf.MapExtServices, old(bpf.MapExtServices, bpf.LegacyExtValueSize))
	outer := pin(bpf.LegacyMapMaglev, &ebpf.MapSpec{Type: ebpf.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1024,
		InnerMap: &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1021, Flags: bpf.FlagInnerMap}})
	oldBackends := spec.Maps[bpf.MapBackends].Copy()
	oldBackends.Type, oldBackends.Flags = ebpf.Hash, 0
	backends := pin(bpf.MapBackends, oldBackends)
	ctFwd := pin(bpf.MapCtFwd, spec.Maps[bpf.MapCtFwd])

	const id = 5
	for i, a := range []netip.AddrPort{b1, b2} {
		var v bpf.BackendValue
		v.Addr.W = bpf.Addr(a.Addr())
		v.Port = bpf.Port(a.Port())
		if err := backends.Put(uint32(i+1), v); err != nil {
			t.Fatal(err)
		}
	}
	table, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1021, Flags: bpf.FlagInnerMap})
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint32(1021) {
		if err := table.Put(i, 1+i%2); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Put(uint32(id), table); err != nil {
		t.Fatal(err)
	}
	table.Close()
	if err := svcs.Put(frontendKey(vip, 6), bpf.LegacyServiceValue{Id: id, Count: 2, LutSize: 1021}); err != nil {
		t.Fatal(err)
	}
	ck := bpf.CtKey{Sport: 1234, Dport: 80, Proto: 6}
	ck.Src.W = bpf.Addr(netip.MustParseAddr("192.0.2.1"))
	if err := ctFwd.Put(ck, bpf.CtFwdValue{SvcId: id}); err != nil {
		t.Fatal(err)
	}

	e.rec = e.open(1021)
	if err := consistent(e.rec.maps); err != nil {
		t.Fatal(err)
	}
	snap, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Frontends) != 1 || snap.Frontends[0].ServiceID != id || len(snap.Tables) != 1 ||
		snap.Tables[0].Slots[1] != 511 || snap.Tables[0].Slots[2] != 510 {
		t.Errorf("migrated maps:\n%s", snap)
	}
	if _, err := os.Stat(filepath.Join(dir, bpf.LegacyMapMaglev)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old maglev pin still there: %v", err)
	}
	if got := e.rec.objs.Backends.Type(); got != ebpf.Array || len(snap.Backends) != 2 {
		t.Errorf("backends map is a %s with %d backends, want the array with 2", got, len(snap.Backends))
	}
	var cv bpf.CtFwdValue
	if err := e.rec.objs.CtFwd.Lookup(ck, &cv); err != nil || cv.SvcId != id {
		t.Errorf("conntrack entry after migration: %+v, %v", cv, err)
	}
	// The datapath uses the migrated table before any sync.
	expectSpread(t, e.client().do(request{Op: "tcp", Addr: vip.String(), N: 40}), 40, b1, b2)

	// The service as the tables have it keeps its id.
	e.service("migrated", vip, tables.TCP, 0, b1, b2)
	e.sync()
	if err := consistent(e.rec.maps); err != nil {
		t.Fatal(err)
	}
	if snap, _ := e.rec.Dump(); len(snap.Frontends) != 1 || snap.Frontends[0].ServiceID != id {
		t.Errorf("after sync:\n%s", snap)
	}
	expectSpread(t, e.client().do(request{Op: "tcp", Addr: vip.String(), N: 40}), 40, b1, b2)
}
