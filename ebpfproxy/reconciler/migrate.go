//go:build linux

package reconciler

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// Migration from the layout before Maglev chunks. Its pins differ in four
// maps: maglev (a hash of maps, one table per service id; gone now),
// services and ext_services (values without the table location), and
// backends (a hash map then, an array now). Every other map, the conntrack
// (ct_fwd, ct_rev), revnat, affinity, affinity_match and stats among them,
// is unchanged and adopted as it is, so established flows keep their
// entries.
//
// readLegacy reads those maps and removes their pins, keeping them open
// so that the programs attached until now go on using them. New then loads
// the programs with fresh maps, writes what was read into them (writeLegacy)
// before it gives the pinned links the new programs: the datapath switches
// from the old maps to the new ones, equally filled, in one link update.

// legacyState is the content of old-layout maps, in the new layout's terms
// (frontend values without a table location yet).
type legacyState struct {
	services map[bpf.ServiceKey]bpf.ServiceValue
	ext      map[bpf.ServiceKey]bpf.ExtValue
	luts     map[uint32][]uint32
	// backends is nil unless backends was a hash map (now an array).
	backends map[uint32]netip.AddrPort
}

// readLegacy returns nil if pinDir holds no old-layout pins.
func readLegacy(pinDir string) (*legacyState, error) {
	dir := mapsDir(pinDir)
	open := func(name string) (*ebpf.Map, error) {
		m, err := ebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("open pinned map %s: %w", name, err)
		}
		return m, nil
	}
	var held []*ebpf.Map
	defer func() {
		for _, m := range held {
			m.Close()
		}
	}()
	var svcs, ext, outer, bes *ebpf.Map
	for _, x := range []struct {
		name string
		dst  **ebpf.Map
		old  func(*ebpf.Map) bool
	}{
		{bpf.MapServices, &svcs, func(m *ebpf.Map) bool { return m.ValueSize() == bpf.LegacyServiceValueSize }},
		{bpf.MapExtServices, &ext, func(m *ebpf.Map) bool { return m.ValueSize() == bpf.LegacyExtValueSize }},
		{bpf.LegacyMapMaglev, &outer, func(*ebpf.Map) bool { return true }},
		{bpf.MapBackends, &bes, func(m *ebpf.Map) bool { return m.Type() == ebpf.Hash }},
	} {
		m, err := open(x.name)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue
		}
		if !x.old(m) {
			m.Close()
			continue
		}
		held = append(held, m)
		*x.dst = m
	}
	if svcs == nil && ext == nil && outer == nil && bes == nil {
		return nil, nil
	}
	ls := &legacyState{services: map[bpf.ServiceKey]bpf.ServiceValue{}, ext: map[bpf.ServiceKey]bpf.ExtValue{},
		luts: map[uint32][]uint32{}}
	if bes != nil {
		ls.backends = map[uint32]netip.AddrPort{}
		if err := readAll(bes, func(id uint32, v bpf.BackendValue) {
			ls.backends[id] = netip.AddrPortFrom(bpf.AddrFrom(v.Addr.W), bpf.PortFrom(v.Port))
		}); err != nil {
			return nil, fmt.Errorf("read old backends map: %w", err)
		}
	}
	if svcs != nil {
		if err := readAll(svcs, func(k bpf.ServiceKey, v bpf.LegacyServiceValue) {
			ls.services[k] = bpf.ServiceValue{Id: v.Id, Count: v.Count, LutSize: v.LutSize, AffinityTimeout: v.AffinityTimeout}
		}); err != nil {
			return nil, fmt.Errorf("read old services map: %w", err)
		}
	}
	if ext != nil {
		if err := readAll(ext, func(k bpf.ServiceKey, v bpf.LegacyExtValue) {
			ls.ext[k] = bpf.ExtValue{Id: v.Id, Count: v.Count, LutSize: v.LutSize, Flags: v.Flags, Snat: v.Snat}
		}); err != nil {
			return nil, fmt.Errorf("read old ext_services map: %w", err)
		}
	}
	if outer != nil {
		var ids []uint32
		if err := readAll(outer, func(id, _ uint32) { ids = append(ids, id) }); err != nil {
			return nil, fmt.Errorf("read old maglev map: %w", err)
		}
		for _, id := range ids {
			var t *ebpf.Map
			if err := outer.Lookup(id, &t); err != nil {
				if errors.Is(err, ebpf.ErrKeyNotExist) {
					continue
				}
				return nil, fmt.Errorf("open old maglev table of service %d: %w", id, err)
			}
			lut, err := readLUT(t)
			t.Close()
			if err != nil {
				return nil, fmt.Errorf("read old maglev table of service %d: %w", id, err)
			}
			ls.luts[id] = lut
		}
	}
	// Everything is read: the pins go, the maps stay while the old
	// programs hold them.
	for _, m := range held {
		if err := m.Unpin(); err != nil {
			return nil, fmt.Errorf("unpin old map: %w", err)
		}
	}
	return ls, nil
}

// writeLegacy fills fresh maps with what readLegacy read: the tables into
// chunks and the frontends pointing at them (a frontend whose table is
// missing is written with none, as the old datapath refused it too).
func writeLegacy(m mapSet, ls *legacyState) (SyncStats, error) {
	cur, err := readState(m, nil, nil)
	if err != nil {
		return SyncStats{}, err
	}
	want := newState()
	want.backends, want.match = cur.backends, cur.match
	if ls.backends != nil {
		want.backends = ls.backends
	}
	for k, v := range ls.services {
		want.services[k] = v
	}
	for k, v := range ls.ext {
		want.ext[k] = v
	}
	for id, lut := range ls.luts {
		want.luts[id] = lut
	}
	return apply(m, cur, want, nil, nil)
}

// readLUT reads an old-layout table (an array) with batch lookups.
func readLUT(inner *ebpf.Map) ([]uint32, error) {
	n := int(inner.MaxEntries())
	lut := make([]uint32, n)
	keys := make([]uint32, n)
	var cursor ebpf.MapBatchCursor
	got := 0
	for got < n {
		c, err := inner.BatchLookup(&cursor, keys[got:], lut[got:], nil)
		got += c
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		if c == 0 {
			break
		}
	}
	if got != n {
		return nil, fmt.Errorf("read %d of %d slots", got, n)
	}
	return lut, nil
}
