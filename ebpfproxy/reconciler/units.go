//go:build linux

package reconciler

import (
	"container/heap"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/maglev"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// unit is what one load-balancing unit (tables.LBKey) contributes to the
// maps, as the reconciler last computed it. The maps' content is the union
// of every unit's contribution; a sync recomputes only the units of the
// services that changed and rewrites only the map entries those units
// contributed before or contribute now.
type unit struct {
	lb   tables.LBService
	snat netip.Addr // the node address masqueraded packets get, if any
	id   uint32
	// beIDs are the backend ids of lb.Backends, in order.
	beIDs []uint32
	// lutKey names the memoized Maglev table; lut maps its slots to beIDs.
	lutKey   string
	lut      []uint32
	services []svcEntry
	ext      []extEntry
	match    []bpf.AffinityMatchKey
}

type svcEntry struct {
	k bpf.ServiceKey
	v bpf.ServiceValue
}

type extEntry struct {
	k bpf.ServiceKey
	v bpf.ExtValue
}

// sameUnit says whether a and b make the same contribution for the same id.
func sameUnit(a tables.LBService, snatA netip.Addr, b tables.LBService, snatB netip.Addr) bool {
	return a.Key == b.Key && a.AffinityTimeout == b.AffinityTimeout && a.SNAT == b.SNAT && snatA == snatB &&
		slices.Equal(a.Frontends, b.Frontends) && slices.Equal(a.Backends, b.Backends)
}

// claims records which units contribute an entry under a key of a map
// whose entries units may share; the first unit in key order wins.
type claims[K comparable] map[K][]tables.LBKey

func (c claims[K]) add(k K, u tables.LBKey) { c[k] = append(c[k], u) }

func (c claims[K]) remove(k K, u tables.LBKey) {
	us := c[k]
	if i := slices.Index(us, u); i >= 0 {
		us = slices.Delete(us, i, i+1)
	}
	if len(us) == 0 {
		delete(c, k)
	} else {
		c[k] = us
	}
}

func (c claims[K]) winner(k K) (tables.LBKey, bool) {
	us := c[k]
	if len(us) == 0 {
		return tables.LBKey{}, false
	}
	return slices.MinFunc(us, tables.CompareLBKey), true
}

// index is every unit's contribution and who shares what. It is rebuilt
// from scratch by a full sync and kept up to date by incremental ones.
type index struct {
	units     map[tables.LBKey]*unit
	byService map[tables.ServiceName][]tables.LBKey
	svcClaims claims[bpf.ServiceKey]
	extClaims claims[bpf.ServiceKey]
	beRefs    refCounts
	matchRefs map[bpf.AffinityMatchKey]int
	// lutRefs counts the units using each memoized Maglev table.
	lutRefs map[string]int
}

func newIndex() *index { return newIndexSized(0) }

// newIndexSized is an index for about n units (one frontend each).
func newIndexSized(n int) *index {
	return &index{
		units:     make(map[tables.LBKey]*unit, n),
		byService: make(map[tables.ServiceName][]tables.LBKey, n),
		svcClaims: make(claims[bpf.ServiceKey], n),
		extClaims: claims[bpf.ServiceKey]{},
		matchRefs: map[bpf.AffinityMatchKey]int{},
		lutRefs:   map[string]int{},
	}
}

// refCounts counts references by id; ids are dense (lowest free first).
type refCounts []int32

func (c *refCounts) inc(id uint32) {
	if int(id) >= len(*c) {
		*c = append(*c, make([]int32, int(id)+1-len(*c)+len(*c)/2)...)
	}
	(*c)[id]++
}

func (c refCounts) dec(id uint32) {
	if int(id) < len(c) && c[id] > 0 {
		c[id]--
	}
}

func (c refCounts) get(id uint32) int32 {
	if int(id) < len(c) {
		return c[id]
	}
	return 0
}

// touched collects the map keys a sync may change.
type touched struct {
	services, ext map[bpf.ServiceKey]struct{}
	backends      map[uint32]struct{}
	luts          map[uint32]struct{}
	match         map[bpf.AffinityMatchKey]struct{}
}

func newTouched() *touched {
	return &touched{services: map[bpf.ServiceKey]struct{}{}, ext: map[bpf.ServiceKey]struct{}{},
		backends: map[uint32]struct{}{}, luts: map[uint32]struct{}{}, match: map[bpf.AffinityMatchKey]struct{}{}}
}

func (t *touched) size() int {
	return len(t.services) + len(t.ext) + len(t.backends) + len(t.luts) + len(t.match)
}

// add records u's contribution in the index; tc, when set, collects its keys.
func (ix *index) add(u *unit, tc *touched) {
	k := u.lb.Key
	ix.units[k] = u
	ix.byService[k.Service] = append(ix.byService[k.Service], k)
	for _, e := range u.services {
		ix.svcClaims.add(e.k, k)
	}
	for _, e := range u.ext {
		ix.extClaims.add(e.k, k)
	}
	for _, id := range u.beIDs {
		ix.beRefs.inc(id)
	}
	for _, mk := range u.match {
		ix.matchRefs[mk]++
	}
	if u.lutKey != "" {
		ix.lutRefs[u.lutKey]++
	}
	if tc != nil {
		tc.record(u)
	}
}

// remove drops u's contribution; tc, when set, collects its keys.
func (ix *index) remove(u *unit, tc *touched) {
	k := u.lb.Key
	delete(ix.units, k)
	keys := ix.byService[k.Service]
	if i := slices.Index(keys, k); i >= 0 {
		keys = slices.Delete(keys, i, i+1)
	}
	if len(keys) == 0 {
		delete(ix.byService, k.Service)
	} else {
		ix.byService[k.Service] = keys
	}
	for _, e := range u.services {
		ix.svcClaims.remove(e.k, k)
	}
	for _, e := range u.ext {
		ix.extClaims.remove(e.k, k)
	}
	for _, id := range u.beIDs {
		ix.beRefs.dec(id)
	}
	for _, mk := range u.match {
		if ix.matchRefs[mk]--; ix.matchRefs[mk] <= 0 {
			delete(ix.matchRefs, mk)
		}
	}
	if u.lutKey != "" {
		if ix.lutRefs[u.lutKey]--; ix.lutRefs[u.lutKey] <= 0 {
			delete(ix.lutRefs, u.lutKey)
		}
	}
	if tc != nil {
		tc.record(u)
	}
}

func (t *touched) record(u *unit) {
	for _, e := range u.services {
		t.services[e.k] = struct{}{}
	}
	for _, e := range u.ext {
		t.ext[e.k] = struct{}{}
	}
	for _, id := range u.beIDs {
		t.backends[id] = struct{}{}
	}
	for _, mk := range u.match {
		t.match[mk] = struct{}{}
	}
	t.luts[u.id] = struct{}{}
}

// wanted is the value the index says key k of the services map should
// have; likewise for the other maps below.
func (ix *index) wantService(k bpf.ServiceKey) (bpf.ServiceValue, bool) {
	w, ok := ix.svcClaims.winner(k)
	if !ok {
		return bpf.ServiceValue{}, false
	}
	for _, e := range ix.units[w].services {
		if e.k == k {
			return e.v, true
		}
	}
	return bpf.ServiceValue{}, false
}

func (ix *index) wantExt(k bpf.ServiceKey) (bpf.ExtValue, bool) {
	w, ok := ix.extClaims.winner(k)
	if !ok {
		return bpf.ExtValue{}, false
	}
	for _, e := range ix.units[w].ext {
		if e.k == k {
			return e.v, true
		}
	}
	return bpf.ExtValue{}, false
}

// partial is the part of want covering the keys in tc, and the part of cur
// it replaces.
func (ix *index) partial(cur state, tc *touched, keyOf map[uint32]tables.LBKey, beAddr map[uint32]netip.AddrPort) (from, to state) {
	from, to = newState(), newState()
	for k := range tc.services {
		if v, ok := cur.services[k]; ok {
			from.services[k] = v
		}
		if v, ok := ix.wantService(k); ok {
			to.services[k] = v
		}
	}
	for k := range tc.ext {
		if v, ok := cur.ext[k]; ok {
			from.ext[k] = v
		}
		if v, ok := ix.wantExt(k); ok {
			to.ext[k] = v
		}
	}
	for id := range tc.backends {
		if a, ok := cur.backends[id]; ok {
			from.backends[id] = a
		}
		if ix.beRefs.get(id) > 0 {
			to.backends[id] = beAddr[id]
		}
	}
	for id := range tc.luts {
		if l, ok := cur.luts[id]; ok {
			from.luts[id] = l
		}
		if loc, ok := cur.locs[id]; ok {
			from.locs[id] = loc
		}
		if key, ok := keyOf[id]; ok {
			if u := ix.units[key]; u != nil && u.id == id && u.lut != nil {
				to.luts[id] = u.lut
			}
		}
	}
	// A frontend written may name the table of a unit not touched (one
	// that shares the frontend and wins it): that table stays where it is.
	keep := func(id uint32) {
		if _, ok := to.luts[id]; ok {
			return
		}
		if _, ok := tc.luts[id]; ok {
			return
		}
		if l, ok := cur.luts[id]; ok {
			from.luts[id], to.luts[id] = l, l
			if loc, ok := cur.locs[id]; ok {
				from.locs[id] = loc
			}
		}
	}
	for _, v := range to.services {
		keep(v.Id)
	}
	for _, v := range to.ext {
		keep(v.Id)
	}
	for mk := range tc.match {
		if _, ok := cur.match[mk]; ok {
			from.match[mk] = struct{}{}
		}
		if ix.matchRefs[mk] > 0 {
			to.match[mk] = struct{}{}
		}
	}
	return from, to
}

// full is want as a whole.
func (ix *index) full(beAddr map[uint32]netip.AddrPort) state {
	nBackends := 0
	for _, n := range ix.beRefs {
		if n > 0 {
			nBackends++
		}
	}
	want := state{
		services: make(map[bpf.ServiceKey]bpf.ServiceValue, len(ix.svcClaims)),
		backends: make(map[uint32]netip.AddrPort, nBackends),
		luts:     make(map[uint32][]uint32, len(ix.units)),
		locs:     make(map[uint32]lutLoc, len(ix.units)),
		match:    make(map[bpf.AffinityMatchKey]struct{}, len(ix.matchRefs)),
		ext:      make(map[bpf.ServiceKey]bpf.ExtValue, len(ix.extClaims)),
	}
	for k := range ix.svcClaims {
		want.services[k], _ = ix.wantService(k)
	}
	for k := range ix.extClaims {
		want.ext[k], _ = ix.wantExt(k)
	}
	for id, n := range ix.beRefs {
		if n > 0 {
			want.backends[uint32(id)] = beAddr[uint32(id)]
		}
	}
	for mk := range ix.matchRefs {
		want.match[mk] = struct{}{}
	}
	for _, u := range ix.units {
		if u.lut != nil {
			want.luts[u.id] = u.lut
		}
	}
	return want
}

// commit makes cur hold to for the keys of tc.
func commit(cur state, tc *touched, to state) {
	for k := range tc.services {
		if v, ok := to.services[k]; ok {
			cur.services[k] = v
		} else {
			delete(cur.services, k)
		}
	}
	for k := range tc.ext {
		if v, ok := to.ext[k]; ok {
			cur.ext[k] = v
		} else {
			delete(cur.ext, k)
		}
	}
	for id := range tc.backends {
		if a, ok := to.backends[id]; ok {
			cur.backends[id] = a
		} else {
			delete(cur.backends, id)
		}
	}
	for id := range tc.luts {
		if l, ok := to.luts[id]; ok {
			cur.luts[id] = l
		} else {
			delete(cur.luts, id)
		}
		if loc, ok := to.locs[id]; ok {
			cur.locs[id] = loc
		} else {
			delete(cur.locs, id)
		}
	}
	for mk := range tc.match {
		if _, ok := to.match[mk]; ok {
			cur.match[mk] = struct{}{}
		} else {
			delete(cur.match, mk)
		}
	}
}

// build computes a unit's contribution for id. table, when not nil, is the
// Maglev table of lb's backends computed beforehand as backend indices (see
// buildTables); build turns it into ids in place.
func (r *Reconciler) build(lb tables.LBService, snat netip.Addr, id uint32, table []uint32) (*unit, error) {
	u := &unit{lb: lb, snat: snat, id: id}
	ids, err := r.backendIDs(lb.Backends)
	if err != nil {
		return nil, err
	}
	u.beIDs = ids
	val := bpf.ServiceValue{Id: id, Count: uint32(len(ids))}
	if lb.AffinityTimeout > 0 {
		val.AffinityTimeout = uint32(max(1, lb.AffinityTimeout/time.Second))
		for _, bid := range ids {
			u.match = append(u.match, bpf.AffinityMatchKey{SvcId: id, BackendId: bid})
		}
	}
	if len(ids) > 0 {
		u.lutKey = lutKey(lb.Backends, ids)
		if u.lut, err = r.lutFor(u.lutKey, lb.Backends, ids, table); err != nil {
			return nil, fmt.Errorf("maglev table for %s: %w", lb.Key, err)
		}
		val.LutSize = uint32(len(u.lut))
	}
	for _, f := range lb.Frontends {
		fk := frontendKey(f.Addr, uint8(f.Protocol))
		if lb.Key.Scope != tables.ScopeNodeLocal {
			u.services = append(u.services, svcEntry{fk, val})
		}
		// The TC path serves IPv4 external frontends to other hosts.
		if f.Type == tables.ClusterIP || lb.Key.Family != tables.IPv4 {
			continue
		}
		ev := bpf.ExtValue{Id: id, Count: val.Count, LutSize: val.LutSize}
		switch {
		case lb.Key.Scope == tables.ScopeNodeLocal:
		case lb.SNAT:
			if !snat.IsValid() {
				continue // no node address to masquerade to
			}
			ev.Flags = bpf.ExtFlagSNAT
			ev.Snat.W = bpf.Addr(snat)
		default:
			continue // externalTrafficPolicy: Local; the node-local unit serves it
		}
		u.ext = append(u.ext, extEntry{fk, ev})
	}
	return u, nil
}

// lutKey names a backend set with its ids for the Maglev memo; addrs are
// sorted.
func lutKey(addrs []netip.AddrPort, ids []uint32) string {
	b := make([]byte, 0, len(addrs)*(18+4))
	for i, a := range addrs {
		b, _ = a.AppendBinary(b)
		b = append(b, byte(ids[i]), byte(ids[i]>>8), byte(ids[i]>>16), byte(ids[i]>>24))
	}
	return string(b)
}

// lutFor returns the Maglev table, as backend ids per slot, of a backend
// set: the memoized one if a unit has it, else a new one (idx, when not
// nil, is it as indices into addrs, turned into ids in place). Units with
// the same backends share the (read-only) slice.
func (r *Reconciler) lutFor(key string, addrs []netip.AddrPort, ids []uint32, idx []uint32) ([]uint32, error) {
	if lut, ok := r.memo[key]; ok {
		return lut, nil
	}
	lut := idx
	if lut == nil {
		table, err := buildTable(r.builder, addrs, nil)
		if err != nil {
			return nil, err
		}
		lut = make([]uint32, len(table))
		for i, b := range table {
			lut[i] = uint32(b)
		}
	}
	for i, b := range lut {
		lut[i] = ids[b]
	}
	r.memo[key] = lut
	r.stats.tablesBuilt++
	return lut, nil
}

// buildTable is the Maglev table of a backend set, as indices into addrs;
// scratch, when large enough, holds it.
func buildTable(b *maglev.Builder, addrs []netip.AddrPort, scratch maglev.Table) (maglev.Table, error) {
	bs := make([]maglev.Backend, len(addrs))
	for i, a := range addrs {
		bs[i] = maglev.Backend{Name: a.String()}
	}
	return b.BuildInto(bs, scratch)
}

// parallelTables is the number of units from which buildTables spreads the
// work over the CPUs.
const parallelTables = 256

// buildTables computes the Maglev tables of many units on every CPU (the
// tables depend on the backend addresses only, not on ids), as backend
// indices: what a full sync of thousands of services spends most of its
// computing on. Each worker builds into one scratch table and keeps only
// the compact copy. Units with no backends get nil. Errors are left for
// build to report.
func buildTables(b *maglev.Builder, lbs []tables.LBService) [][]uint32 {
	out := make([][]uint32, len(lbs))
	if len(lbs) < parallelTables {
		return out
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var scratch maglev.Table
			for i := w; i < len(lbs); i += workers {
				if len(lbs[i].Backends) == 0 {
					continue
				}
				t, err := buildTable(b, lbs[i].Backends, scratch)
				if err != nil {
					continue
				}
				scratch = t
				lut := make([]uint32, len(t))
				for j, x := range t {
					lut[j] = uint32(x)
				}
				out[i] = lut
			}
		})
	}
	wg.Wait()
	return out
}

// backendIDs returns the ids of addrs, taking new ones as needed.
func (r *Reconciler) backendIDs(addrs []netip.AddrPort) ([]uint32, error) {
	ids := make([]uint32, len(addrs))
	for i, a := range addrs {
		id, ok := r.beIDs[a]
		if !ok {
			var err error
			if id, err = r.bePool.take(); err != nil {
				return nil, fmt.Errorf("backend ids: %w", err)
			}
			r.beIDs[a] = id
			r.beAddr[id] = a
		}
		ids[i] = id
	}
	return ids, nil
}

// serviceID returns the unit's id: the one it has, else the one its
// pinned frontends had before a restart (so its table and affinity carry
// over), else a new one. fresh says the id is new.
func (r *Reconciler) serviceID(lb tables.LBService) (id uint32, fresh bool, err error) {
	if id, ok := r.svcIDs[lb.Key]; ok && r.svcKeys[id] == lb.Key {
		return id, false, nil
	}
	for _, f := range lb.Frontends {
		fk := frontendKey(f.Addr, uint8(f.Protocol))
		var v uint32
		var found bool
		if lb.Key.Scope == tables.ScopeNodeLocal {
			var ev bpf.ExtValue
			ev, found = r.cur.ext[fk]
			v = ev.Id
		} else {
			var sv bpf.ServiceValue
			sv, found = r.cur.services[fk]
			v = sv.Id
		}
		if found && v != 0 && !r.idOwnedByOther(v, lb.Key) {
			r.assignID(lb.Key, v)
			r.svcPool.use(v)
			return v, false, nil
		}
	}
	if id, err = r.svcPool.take(); err != nil {
		return 0, false, fmt.Errorf("service ids: %w", err)
	}
	r.assignID(lb.Key, id)
	return id, true, nil
}

func (r *Reconciler) assignID(key tables.LBKey, id uint32) {
	if old, had := r.svcIDs[key]; had && old != id && r.svcKeys[old] == key {
		delete(r.svcKeys, old)
	}
	r.svcIDs[key] = id
	r.svcKeys[id] = key
}

// idPool hands out the lowest ids in [1, limit) not in use.
type idPool struct {
	used  bitmap
	free  idHeap // released ids below next
	next  uint32
	limit uint32
}

func newIDPool(limit uint32) *idPool {
	return &idPool{next: 1, limit: limit}
}

// reset marks exactly the ids used yields as in use.
func (p *idPool) reset(used func(yield func(uint32) bool)) {
	p.used.clear()
	for id := range used {
		p.used.set(id)
	}
	p.free, p.next = nil, 1
}

func (p *idPool) use(id uint32) { p.used.set(id) }

func (p *idPool) take() (uint32, error) {
	for p.free.Len() > 0 {
		id := heap.Pop(&p.free).(uint32)
		if !p.used.has(id) {
			p.used.set(id)
			return id, nil
		}
	}
	for ; p.next < p.limit; p.next++ {
		if !p.used.has(p.next) {
			id := p.next
			p.used.set(id)
			p.next++
			return id, nil
		}
	}
	return 0, fmt.Errorf("all %d ids in use", p.limit-1)
}

func (p *idPool) release(id uint32) {
	if !p.used.has(id) {
		return
	}
	p.used.unset(id)
	if id < p.next {
		heap.Push(&p.free, id)
	}
}

// bitmap is a set of ids, grown as needed.
type bitmap []uint64

func (b *bitmap) set(id uint32) {
	w := int(id / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b)+len(*b)/2)...)
	}
	(*b)[w] |= 1 << (id % 64)
}

func (b bitmap) has(id uint32) bool {
	w := int(id / 64)
	return w < len(b) && b[w]&(1<<(id%64)) != 0
}

func (b bitmap) unset(id uint32) {
	if w := int(id / 64); w < len(b) {
		b[w] &^= 1 << (id % 64)
	}
}

func (b *bitmap) clear() { clear(*b) }

type idHeap []uint32

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(uint32)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
