//go:build linux

package reconciler

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// consistent checks what a hook may see at any instant: every frontend
// with backends has a table of the size it claims, and every slot names an
// existing backend that, for affinity services, is a member.
func consistent(m mapSet) error {
	m.chunks = newChunkSet(m.chunks.outer, true)
	defer m.chunks.close()
	s, err := readState(m, nil, nil)
	if err != nil {
		return err
	}
	for k, v := range s.services {
		if v.Count == 0 {
			continue
		}
		lut, ok := s.luts[v.Id]
		if !ok || uint32(len(lut)) != v.LutSize {
			return fmt.Errorf("frontend %s: service %d has no table of size %d", frontendOf(k), v.Id, v.LutSize)
		}
		for slot, id := range lut {
			if _, ok := s.backends[id]; !ok {
				return fmt.Errorf("frontend %s: slot %d names missing backend %d", frontendOf(k), slot, id)
			}
			if v.AffinityTimeout != 0 {
				if _, ok := s.match[bpf.AffinityMatchKey{SvcId: v.Id, BackendId: id}]; !ok {
					return fmt.Errorf("frontend %s: backend %d is not a member", frontendOf(k), id)
				}
			}
		}
	}
	return nil
}

// TestSafeOrder runs changes through the reconciler and checks the maps
// after every step of every sync.
func TestSafeOrder(t *testing.T) {
	e := newEnv(t)
	var violations []string
	var curStep step
	e.rec.afterStep = func(s step) {
		curStep = s
		if err := consistent(e.rec.maps); err != nil {
			violations = append(violations, fmt.Sprintf("after %s: %v", curStep, err))
		}
	}
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	vip := ap("10.250.0.90:80")
	be := func(n int) []netip.AddrPort {
		var out []netip.AddrPort
		for i := range n {
			out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, 9, byte(i + 1)}), 8080))
		}
		return out
	}
	changes := []struct {
		name string
		do   func()
	}{
		{"create with 3", func() { e.service("s", vip, tables.TCP, 0, be(3)...) }},
		{"scale to 6", func() { e.setBackends(tables.ServiceName{Namespace: "test", Name: "s"}, tables.TCP, be(6)...) }},
		{"enable affinity", func() { e.service("s", vip, tables.TCP, time.Hour, be(6)...) }},
		{"scale to 2", func() { e.setBackends(tables.ServiceName{Namespace: "test", Name: "s"}, tables.TCP, be(2)...) }},
		{"scale to 0", func() { e.setBackends(tables.ServiceName{Namespace: "test", Name: "s"}, tables.TCP) }},
		{"scale to 4", func() { e.setBackends(tables.ServiceName{Namespace: "test", Name: "s"}, tables.TCP, be(4)...) }},
		{"second service sharing backends", func() { e.service("t", ap("10.250.0.91:80"), tables.TCP, 0, be(4)...) }},
		{"delete first", func() { e.tables.DeleteService(tables.ServiceName{Namespace: "test", Name: "s"}) }},
		{"delete second", func() { e.tables.DeleteService(tables.ServiceName{Namespace: "test", Name: "t"}) }},
	}
	for _, c := range changes {
		c.do()
		e.sync()
		for _, v := range violations {
			t.Errorf("%s: %s", c.name, v)
		}
		violations = nil
	}
	snap, err := e.rec.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Frontends)+len(snap.Backends)+len(snap.Tables)+len(snap.Affinity) != 0 {
		t.Errorf("maps not empty after deleting everything:\n%s", snap)
	}
}

// TestResyncRepairsDrift changes maps behind the reconciler's back: a plain
// Sync trusts its records, Resync re-reads and repairs.
func TestResyncRepairsDrift(t *testing.T) {
	e := newEnv(t)
	vip := netip.MustParseAddrPort("10.250.0.95:80")
	e.service("s", vip, tables.TCP, 0, netip.MustParseAddrPort("10.244.9.1:8080"), netip.MustParseAddrPort("10.244.9.2:8080"))
	e.sync()
	want, _ := e.rec.Dump()

	// Drift: a frontend deleted, a stray frontend added, a table removed
	// (the chunk holding it).
	var val bpf.ServiceValue
	if err := e.rec.maps.services.Lookup(frontendKey(vip, 6), &val); err != nil {
		t.Fatal(err)
	}
	if err := e.rec.maps.services.Delete(frontendKey(vip, 6)); err != nil {
		t.Fatal(err)
	}
	stray := frontendKey(netip.MustParseAddrPort("10.250.0.96:80"), 6)
	if err := e.rec.maps.services.Put(stray, bpf.ServiceValue{Id: 77, Count: 1, LutSize: 3}); err != nil {
		t.Fatal(err)
	}
	if err := e.rec.maps.chunks.outer.Delete(val.LutChunk); err != nil {
		t.Fatal(err)
	}
	if st := e.sync(); st.Changes() != 0 {
		t.Errorf("Sync without drift detection wrote %+v", st)
	}
	st, err := e.rec.Resync(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ServicesWritten != 1 || st.ServicesDeleted != 1 || st.TablesWritten != 1 {
		t.Errorf("Resync wrote %+v, want 1 service written, 1 deleted, 1 table", st)
	}
	got, _ := e.rec.Dump()
	if got.String() != want.String() {
		t.Errorf("after Resync:\n%s\nwant:\n%s", got, want)
	}
}

// TestReadPinned reads a running datapath's state from the pins alone.
func TestReadPinned(t *testing.T) {
	e := newEnv(t)
	e.service("s", netip.MustParseAddrPort("10.250.0.97:80"), tables.TCP, 0, netip.MustParseAddrPort("10.244.9.1:8080"))
	e.sync()
	want, _ := e.rec.Dump()
	got, err := ReadPinned(e.pinDir)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("ReadPinned:\n%s\nwant:\n%s", got, want)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no tables: want an error")
	}
	if _, err := New(Config{Tables: tables.New(tables.Node{}), MaglevTableSize: 1000}); err == nil {
		t.Error("non-prime table size: want an error")
	}
}
