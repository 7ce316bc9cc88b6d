//go:build linux

package reconciler

import (
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// repairDrift reads the maps and rewrites whatever differs from the record
// of what was written (cur): entries changed, deleted or added behind the
// reconciler's back. It builds no copy of the maps: each entry read is
// compared with the record as it comes. Maglev tables are checked by
// chunk: a table whose chunk is gone or was replaced is written afresh
// (slots rewritten in place behind our back go unnoticed).
func (r *Reconciler) repairDrift() (SyncStats, error) {
	from, to := newState(), newState()
	same := func(v bpf.ServiceValue) bpf.ServiceValue { return v }
	if err := drift(r.maps.services, r.cur.services, same, from.services, to.services); err != nil {
		return SyncStats{}, fmt.Errorf("read services map: %w", err)
	}
	if err := drift(r.maps.ext, r.cur.ext, func(v bpf.ExtValue) bpf.ExtValue { return v }, from.ext, to.ext); err != nil {
		return SyncStats{}, fmt.Errorf("read ext_services map: %w", err)
	}
	backendDrift(r.maps.bes, r.cur.backends, from.backends, to.backends)
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
	st, err := apply(r.maps, from, to, nil, r.afterStep)
	if err != nil {
		return st, applyError{err}
	}
	// What was rewritten is the record again, but tables written afresh
	// (and their frontends) have new locations.
	for id, loc := range to.locs {
		r.cur.locs[id] = loc
	}
	for k, v := range to.services {
		r.cur.services[k] = v
	}
	for k, v := range to.ext {
		r.cur.ext[k] = v
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

// backendDrift is drift for the backends array.
func backendDrift(bes *backendArray, cur, from, to map[uint32]netip.AddrPort) {
	var present bitmap
	bes.each(func(id uint32, a netip.AddrPort) {
		cv, ok := cur[id]
		if ok {
			present.set(id)
			if cv == a {
				return
			}
			to[id] = cv
		}
		from[id] = a
	})
	for id, a := range cur {
		if !present.has(id) {
			to[id] = a
		}
	}
}

// lutDrift is drift for the Maglev tables: those in a chunk no longer
// installed as the reconciler mapped it go to to (and their frontends with
// them, to be pointed at the new copy); their old slots go to from.
func (r *Reconciler) lutDrift(from, to state) error {
	ok := map[uint32]bool{}
	lost := map[uint32]bool{}
	for id, loc := range r.cur.locs {
		good, checked := ok[loc.chunk]
		if !checked {
			c, fresh, err := r.maps.chunks.open(loc.chunk)
			if err != nil {
				return err
			}
			good = c != nil && !fresh
			ok[loc.chunk] = good
		}
		if !good {
			lost[id] = true
			from.locs[id] = loc
			to.luts[id] = r.cur.luts[id]
		}
	}
	if len(lost) == 0 {
		return nil
	}
	// Frontends drift left alone are in the kernel as recorded.
	for k, v := range r.cur.services {
		if _, ok := to.services[k]; !ok && lost[v.Id] {
			from.services[k], to.services[k] = v, v
		}
	}
	for k, v := range r.cur.ext {
		if _, ok := to.ext[k]; !ok && lost[v.Id] {
			from.ext[k], to.ext[k] = v, v
		}
	}
	return nil
}
