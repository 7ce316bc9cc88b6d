//go:build linux

package reconciler

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// repairDrift reads the maps and rewrites whatever differs from the record
// of what was written (cur): entries changed, deleted or added behind the
// reconciler's back. It builds no copy of the maps: each entry read is
// compared with the record as it comes, and a Maglev table is read only if
// its kernel id is not the one recorded (slots rewritten in place behind
// our back go unnoticed).
func (r *Reconciler) repairDrift() (SyncStats, error) {
	from, to := newState(), newState()
	same := func(v bpf.ServiceValue) bpf.ServiceValue { return v }
	if err := drift(r.maps.services, r.cur.services, same, from.services, to.services); err != nil {
		return SyncStats{}, fmt.Errorf("read services map: %w", err)
	}
	if err := drift(r.maps.ext, r.cur.ext, func(v bpf.ExtValue) bpf.ExtValue { return v }, from.ext, to.ext); err != nil {
		return SyncStats{}, fmt.Errorf("read ext_services map: %w", err)
	}
	if err := drift(r.maps.backends, r.cur.backends, func(bv bpf.BackendValue) netip.AddrPort {
		return netip.AddrPortFrom(bpf.AddrFrom(bv.Addr.W), bpf.PortFrom(bv.Port))
	}, from.backends, to.backends); err != nil {
		return SyncStats{}, fmt.Errorf("read backends map: %w", err)
	}
	if err := drift(r.maps.match, r.cur.match, func(uint8) struct{} { return struct{}{} }, from.match, to.match); err != nil {
		return SyncStats{}, fmt.Errorf("read affinity_match map: %w", err)
	}
	if err := r.lutDrift(from, to); err != nil {
		return SyncStats{}, err
	}
	if len(from.services)+len(to.services)+len(from.ext)+len(to.ext)+len(from.backends)+len(to.backends)+
		len(from.match)+len(to.match)+len(from.luts)+len(to.luts) == 0 {
		return SyncStats{}, nil
	}
	st, err := apply(r.maps, from, to, nil, r.innerIDs, r.afterStep)
	if err != nil {
		return st, applyError{err}
	}
	return st, nil
}

// drift compares a map with the record cur: entries whose value differs
// or that cur lacks go to from (as the kernel has them), and the recorded
// value of every entry that differs or is missing goes to to.
func drift[K, V comparable, KV any](m *ebpf.Map, cur map[K]V, conv func(KV) V, from, to map[K]V) error {
	present := 0
	if err := readAll(m, func(k K, kv KV) {
		v := conv(kv)
		cv, ok := cur[k]
		if ok {
			present++
			if cv == v {
				return
			}
			to[k] = cv
		}
		from[k] = v
	}); err != nil {
		return err
	}
	if present == len(cur) {
		return nil
	}
	// Some recorded entries are gone: find which.
	seen := make(map[K]struct{}, len(cur))
	if err := readAll(m, func(k K, _ KV) { seen[k] = struct{}{} }); err != nil {
		return err
	}
	for k, v := range cur {
		if _, ok := seen[k]; !ok {
			to[k] = v
		}
	}
	return nil
}

// lutDrift is drift for the Maglev tables, by kernel table id.
func (r *Reconciler) lutDrift(from, to state) error {
	var read []uint32
	seen := make(map[uint32]struct{}, len(r.cur.luts))
	if err := readAll(r.maps.maglev, func(id, innerID uint32) {
		seen[id] = struct{}{}
		if _, ok := r.cur.luts[id]; ok && r.innerIDs[id] == ebpf.MapID(innerID) {
			return
		}
		read = append(read, id)
	}); err != nil {
		return fmt.Errorf("read maglev map: %w", err)
	}
	for _, id := range read {
		var t *ebpf.Map
		if err := r.maps.maglev.Lookup(id, &t); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				delete(seen, id) // deleted meanwhile
				continue
			}
			return fmt.Errorf("open maglev table of service %d: %w", id, err)
		}
		lut, err := readLUT(t)
		var innerID ebpf.MapID
		if err == nil {
			innerID, err = mapID(t)
		}
		t.Close()
		if err != nil {
			return fmt.Errorf("read maglev table of service %d: %w", id, err)
		}
		from.luts[id] = lut
		if rec, ok := r.cur.luts[id]; ok {
			to.luts[id] = rec
			// A patch in place keeps the kernel's table.
			r.innerIDs[id] = innerID
		}
	}
	for id, lut := range r.cur.luts {
		if _, ok := seen[id]; !ok {
			to.luts[id] = lut
		}
	}
	return nil
}
