//go:build linux

package reconciler

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// state is the content of the maps the reconciler owns, in the maps' own
// terms. affinity and revnat are the datapath's own (LRU) and are never
// written here; stats are only zeroed for new ids.
type state struct {
	services map[bpf.ServiceKey]bpf.ServiceValue
	backends map[uint32]netip.AddrPort
	// luts holds each service id's Maglev table as backend ids per slot.
	luts  map[uint32][]uint32
	match map[bpf.AffinityMatchKey]struct{}
	// ext are the TC path's frontends (ext_services).
	ext map[bpf.ServiceKey]bpf.ExtValue
}

func newState() state {
	return state{
		services: map[bpf.ServiceKey]bpf.ServiceValue{},
		backends: map[uint32]netip.AddrPort{},
		luts:     map[uint32][]uint32{},
		match:    map[bpf.AffinityMatchKey]struct{}{},
		ext:      map[bpf.ServiceKey]bpf.ExtValue{},
	}
}

// ids returns every service id the state uses.
func (s state) serviceIDs() map[uint32]bool {
	ids := map[uint32]bool{}
	for _, v := range s.services {
		ids[v.Id] = true
	}
	for id := range s.luts {
		ids[id] = true
	}
	for _, v := range s.ext {
		ids[v.Id] = true
	}
	return ids
}

// mapSet is the subset of loaded maps state lives in.
type mapSet struct {
	services, backends, maglev, match, stats, ext *ebpf.Map
	// tables says how new Maglev tables are made; nil for a set only read.
	tables *tableMode
}

// tableMode holds the flags new Maglev tables get: memory-mappable ones
// (filled with plain stores) unless the pinned outer map, made by an
// older Skiff, only takes plain arrays.
type tableMode struct{ flags uint32 }

func newTableMode() *tableMode { return &tableMode{flags: bpf.InnerMapFlags} }

func frontendKey(ap netip.AddrPort, proto uint8) bpf.ServiceKey {
	var k bpf.ServiceKey
	k.Addr.W = bpf.Addr(ap.Addr())
	k.Port = bpf.Port(ap.Port())
	k.Proto = proto
	return k
}

func frontendOf(k bpf.ServiceKey) netip.AddrPort {
	return netip.AddrPortFrom(bpf.AddrFrom(k.Addr.W), bpf.PortFrom(k.Port))
}

// readState reads the owned maps from the kernel. A Maglev table whose
// kernel id is in innerIDs and whose content is in known is taken from
// known instead of being read (tables are replaced whole or patched only by
// the reconciler); the ids of the tables now installed are returned.
func readState(m mapSet, innerIDs map[uint32]ebpf.MapID, known map[uint32][]uint32) (state, map[uint32]ebpf.MapID, error) {
	s := newState()
	inner := map[uint32]ebpf.MapID{}
	if err := readAll(m.services, func(k bpf.ServiceKey, v bpf.ServiceValue) { s.services[k] = v }); err != nil {
		return s, inner, fmt.Errorf("read services map: %w", err)
	}
	if err := readAll(m.backends, func(id uint32, bv bpf.BackendValue) {
		s.backends[id] = netip.AddrPortFrom(bpf.AddrFrom(bv.Addr.W), bpf.PortFrom(bv.Port))
	}); err != nil {
		return s, inner, fmt.Errorf("read backends map: %w", err)
	}
	if err := readAll(m.ext, func(k bpf.ServiceKey, v bpf.ExtValue) { s.ext[k] = v }); err != nil {
		return s, inner, fmt.Errorf("read ext_services map: %w", err)
	}
	if err := readAll(m.match, func(k bpf.AffinityMatchKey, _ uint8) { s.match[k] = struct{}{} }); err != nil {
		return s, inner, fmt.Errorf("read affinity_match map: %w", err)
	}
	// The outer map yields inner map ids: reuse what is known, open the rest.
	var ids []uint32
	if err := readAll(m.maglev, func(id uint32, innerID uint32) {
		if lut, ok := known[id]; ok && innerIDs[id] == ebpf.MapID(innerID) && innerID != 0 {
			s.luts[id] = lut
			inner[id] = ebpf.MapID(innerID)
			return
		}
		ids = append(ids, id)
	}); err != nil {
		return s, inner, fmt.Errorf("read maglev map: %w", err)
	}
	for _, id := range ids {
		var t *ebpf.Map
		if err := m.maglev.Lookup(id, &t); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue // deleted meanwhile
			}
			return s, inner, fmt.Errorf("open maglev table of service %d: %w", id, err)
		}
		lut, err := readLUT(t)
		if err == nil {
			inner[id], err = mapID(t)
		}
		t.Close()
		if err != nil {
			return s, inner, fmt.Errorf("read maglev table of service %d: %w", id, err)
		}
		s.luts[id] = lut
	}
	return s, inner, nil
}

// readAll calls f for every entry of a hash map, reading in batches where
// the kernel can.
func readAll[K comparable, V any](m *ebpf.Map, f func(K, V)) error {
	n := min(int(m.MaxEntries()), batchChunk)
	keys, vals := make([]K, n), make([]V, n)
	var cursor ebpf.MapBatchCursor
	for {
		c, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := range c {
			f(keys[i], vals[i])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) && c == 0 {
			break
		}
		if err != nil {
			return err
		}
	}
	var k K
	var v V
	it := m.Iterate()
	for it.Next(&k, &v) {
		f(k, v)
	}
	return it.Err()
}

// mapID is a map's kernel id. It asks BPF_OBJ_GET_INFO_BY_FD for the
// first two fields of bpf_map_info only: ebpf.Map.Info also parses
// /proc/self/fdinfo, which costs more than making the table.
func mapID(m *ebpf.Map) (ebpf.MapID, error) {
	info := new([2]uint32) // type, id
	attr := struct {
		fd, infoLen uint32
		info        uint64
	}{uint32(m.FD()), 8, uint64(uintptr(unsafe.Pointer(info)))}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if errno != 0 {
		return 0, fmt.Errorf("get map info: %w", errno)
	}
	return ebpf.MapID(info[1]), nil
}

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

// SyncStats counts what one sync wrote.
type SyncStats struct {
	BackendsWritten, BackendsDeleted int
	ServicesWritten, ServicesDeleted int
	ExtWritten, ExtDeleted           int
	TablesWritten, TablesDeleted     int
	MatchWritten, MatchDeleted       int
}

func (s *SyncStats) add(o SyncStats) {
	s.BackendsWritten += o.BackendsWritten
	s.BackendsDeleted += o.BackendsDeleted
	s.ServicesWritten += o.ServicesWritten
	s.ServicesDeleted += o.ServicesDeleted
	s.ExtWritten += o.ExtWritten
	s.ExtDeleted += o.ExtDeleted
	s.TablesWritten += o.TablesWritten
	s.TablesDeleted += o.TablesDeleted
	s.MatchWritten += o.MatchWritten
	s.MatchDeleted += o.MatchDeleted
}

// Changes is the total number of map operations.
func (s SyncStats) Changes() int {
	return s.BackendsWritten + s.BackendsDeleted + s.ServicesWritten + s.ServicesDeleted + s.ExtWritten + s.ExtDeleted +
		s.TablesWritten + s.TablesDeleted + s.MatchWritten + s.MatchDeleted
}

// step names a phase of apply, in the order apply runs them.
type step string

const (
	stepApplyStart    step = "apply-start"
	stepBackendsWrite step = "backends-write"
	stepMatchWrite    step = "affinity-match-write"
	stepTablesWrite   step = "maglev-write"
	stepServicesWrite step = "services-write"
	stepServicesDel   step = "services-delete"
	stepTablesDel     step = "maglev-delete"
	stepMatchDel      step = "affinity-match-delete"
	stepBackendsDel   step = "backends-delete"
)

// apply moves the maps from cur to want. The order keeps every service
// entry a hook can see consistent: backends and tables are written before
// the frontends that use them (raising counts), and frontends are removed
// or lowered before the tables and backends they used are deleted.
// newIDs are service ids taken afresh, whose counters are zeroed.
//
// innerIDs gets the kernel ids of the tables installed.
func apply(m mapSet, cur, want state, newIDs []uint32, innerIDs map[uint32]ebpf.MapID, after func(step)) (SyncStats, error) {
	var st SyncStats
	if after == nil {
		after = func(step) {}
	}

	after(stepApplyStart)

	// 1. Backends.
	var beKeys []uint32
	var beVals []bpf.BackendValue
	for _, id := range changedKeys(want.backends, cur.backends, cmp.Compare[uint32]) {
		a := want.backends[id]
		var v bpf.BackendValue
		v.Addr.W = bpf.Addr(a.Addr())
		v.Port = bpf.Port(a.Port())
		beKeys, beVals = append(beKeys, id), append(beVals, v)
	}
	if err := batchUpdate(m.backends, beKeys, beVals); err != nil {
		return st, fmt.Errorf("write backends: %w", err)
	}
	st.BackendsWritten = len(beKeys)
	after(stepBackendsWrite)

	// 2. Affinity membership, before a table can hand out the backend.
	mkAdd := goneKeys(want.match, cur.match, compareMatch)
	if err := batchUpdate(m.match, mkAdd, make([]uint8, len(mkAdd))); err != nil {
		return st, fmt.Errorf("write affinity_match: %w", err)
	}
	st.MatchWritten = len(mkAdd)
	after(stepMatchWrite)

	// 3. Maglev tables: a fresh inner map swapped in whole, so a hook sees
	// either the old table or the new one.
	if err := resetStats(m.stats, newIDs); err != nil {
		return st, err
	}
	var tableIDs []uint32
	var tableLUTs [][]uint32
	var lutIDs []uint32
	for id, lut := range want.luts {
		old, ok := cur.luts[id]
		if ok && len(old) > 0 && len(old) == len(lut) && &old[0] == &lut[0] || ok && slices.Equal(old, lut) {
			continue
		}
		lutIDs = append(lutIDs, id)
	}
	slices.Sort(lutIDs)
	for _, id := range lutIDs {
		lut := want.luts[id]
		if old, ok := cur.luts[id]; ok && len(old) == len(lut) {
			// Same size: rewrite the changed slots in place. Each slot
			// write is atomic and every backend either table names exists
			// (written above, deleted below), so a hook sees a valid mix.
			if err := patchLUT(m.maglev, id, old, lut); err == nil {
				st.TablesWritten++
				continue
			}
			// Fall back to a swap (e.g. the table vanished behind us).
		}
		tableIDs, tableLUTs = append(tableIDs, id), append(tableLUTs, lut)
	}
	if m.tables == nil {
		m.tables = newTableMode()
	}
	if err := writeLUTs(m.maglev, m.tables, tableIDs, tableLUTs, innerIDs); err != nil {
		return st, err
	}
	st.TablesWritten += len(tableIDs)
	after(stepTablesWrite)

	// 4. Frontends, now that everything they point at exists.
	var skAdd []bpf.ServiceKey
	var svAdd []bpf.ServiceValue
	for _, k := range changedKeys(want.services, cur.services, compareServiceKey) {
		skAdd, svAdd = append(skAdd, k), append(svAdd, want.services[k])
	}
	if err := batchUpdate(m.services, skAdd, svAdd); err != nil {
		return st, fmt.Errorf("write services: %w", err)
	}
	st.ServicesWritten = len(skAdd)
	var ekAdd []bpf.ServiceKey
	var evAdd []bpf.ExtValue
	for _, k := range changedKeys(want.ext, cur.ext, compareServiceKey) {
		ekAdd, evAdd = append(ekAdd, k), append(evAdd, want.ext[k])
	}
	if err := batchUpdate(m.ext, ekAdd, evAdd); err != nil {
		return st, fmt.Errorf("write ext_services: %w", err)
	}
	st.ExtWritten = len(ekAdd)
	after(stepServicesWrite)

	// 5. Frontends that are gone.
	skDel := goneKeys(cur.services, want.services, compareServiceKey)
	if err := batchDelete(m.services, skDel); err != nil {
		return st, fmt.Errorf("delete services: %w", err)
	}
	st.ServicesDeleted = len(skDel)
	ekDel := goneKeys(cur.ext, want.ext, compareServiceKey)
	if err := batchDelete(m.ext, ekDel); err != nil {
		return st, fmt.Errorf("delete ext_services: %w", err)
	}
	st.ExtDeleted = len(ekDel)
	after(stepServicesDel)

	// 6. Tables no frontend uses any more, in one batch: every write to a
	// map of maps waits for an RCU grace period (~10ms), once per call.
	lutDel := goneKeys(cur.luts, want.luts, cmp.Compare[uint32])
	if err := batchDelete(m.maglev, lutDel); err != nil {
		return st, fmt.Errorf("delete maglev tables: %w", err)
	}
	st.TablesDeleted = len(lutDel)
	after(stepTablesDel)

	// 7. and 8. Membership and backends nothing refers to.
	mkDel := goneKeys(cur.match, want.match, compareMatch)
	if err := batchDelete(m.match, mkDel); err != nil {
		return st, fmt.Errorf("delete affinity_match: %w", err)
	}
	st.MatchDeleted = len(mkDel)
	after(stepMatchDel)

	beDel := goneKeys(cur.backends, want.backends, cmp.Compare[uint32])
	if err := batchDelete(m.backends, beDel); err != nil {
		return st, fmt.Errorf("delete backends: %w", err)
	}
	st.BackendsDeleted = len(beDel)
	after(stepBackendsDel)
	return st, nil
}

// resetStats zeroes the per-CPU counters of ids, in batches.
func resetStats(stats *ebpf.Map, ids []uint32) error {
	ncpu := ebpf.MustPossibleCPU()
	for i := 0; i < len(ids); i += batchChunk {
		j := min(i+batchChunk, len(ids))
		zero := make([]bpf.ServiceStats, (j-i)*ncpu)
		_, err := stats.BatchUpdate(ids[i:j], zero, nil)
		if errors.Is(err, ebpf.ErrNotSupported) {
			err = nil
			for _, id := range ids[i:j] {
				if err = stats.Update(id, zero[:ncpu], ebpf.UpdateAny); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("reset counters of services %d to %d: %w", ids[i], ids[j-1], err)
		}
	}
	return nil
}

// writeLUTs installs fresh tables for ids. Each write to the outer map (a
// map of maps) makes the kernel wait for an RCU grace period, about 10ms
// here, so the tables go in with batch updates: one wait per batch. An
// outer map that refuses memory-mappable tables (its template, pinned by an
// older Skiff, is a plain array) switches mode to plain tables for good.
func writeLUTs(outer *ebpf.Map, mode *tableMode, ids []uint32, luts [][]uint32, innerIDs map[uint32]ebpf.MapID) error {
	for i := 0; i < len(ids); {
		j := min(i+innerBatch(), len(ids))
		inners, mapIDs, err := newLUTs(ids[i:j], luts[i:j], mode.flags)
		closeAll := func() {
			for _, m := range inners {
				if m != nil {
					m.Close()
				}
			}
		}
		if err != nil {
			closeAll()
			return err
		}
		fds := make([]uint32, len(inners))
		for k, inner := range inners {
			fds[k] = uint32(inner.FD())
			innerIDs[ids[i+k]] = mapIDs[k]
		}
		n, err := outer.BatchUpdate(ids[i:j], fds, nil)
		if errors.Is(err, ebpf.ErrNotSupported) {
			err = nil
			for k, inner := range inners {
				if err = outer.Update(ids[i+k], inner, ebpf.UpdateAny); err != nil {
					break
				}
			}
		}
		closeAll()
		if errors.Is(err, unix.EINVAL) && n == 0 && mode.flags != bpf.LegacyInnerMapFlags {
			mode.flags = bpf.LegacyInnerMapFlags
			continue // the same batch again, as plain tables
		}
		if err != nil {
			return fmt.Errorf("install maglev tables: %w", err)
		}
		i = j
	}
	return nil
}

// newLUTs creates and fills tables, on every CPU when there are many:
// creating and filling is per-table kernel work that runs in parallel.
func newLUTs(ids []uint32, luts [][]uint32, flags uint32) ([]*ebpf.Map, []ebpf.MapID, error) {
	inners := make([]*ebpf.Map, len(ids))
	mapIDs := make([]ebpf.MapID, len(ids))
	errs := make([]error, len(ids))
	one := func(k int) {
		inner, err := newLUT(luts[k], flags)
		if err == nil {
			mapIDs[k], err = mapID(inner)
			inners[k] = inner
		}
		if err != nil {
			errs[k] = fmt.Errorf("maglev table of service %d: %w", ids[k], err)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(ids)/64+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(ids); k += workers {
				one(k)
			}
		})
	}
	wg.Wait()
	return inners, mapIDs, errors.Join(errs...)
}

// patchLUT writes the slots of service id's installed table that differ
// from old to lut's values.
func patchLUT(outer *ebpf.Map, id uint32, old, lut []uint32) error {
	var inner *ebpf.Map
	if err := outer.Lookup(id, &inner); err != nil {
		return err
	}
	defer inner.Close()
	if int(inner.MaxEntries()) != len(lut) {
		return fmt.Errorf("table of service %d has %d slots, want %d", id, inner.MaxEntries(), len(lut))
	}
	var keys, vals []uint32
	for i := range lut {
		if old[i] != lut[i] {
			keys, vals = append(keys, uint32(i)), append(vals, lut[i])
		}
	}
	return batchUpdate(inner, keys, vals)
}

// innerBatch bounds the inner maps held open at once, and so the tables
// one outer-map batch installs: each batch costs an RCU grace period
// (~10ms), so as many as the open-file limit comfortably allows, keeping
// fdReserve descriptors for everything else.
var innerBatch = sync.OnceValue(func() int {
	const least, most, fdReserve = 1024, 65536, 4096
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < least+fdReserve {
		return least
	}
	return int(min(lim.Cur-fdReserve, most))
})

// newLUT makes a table holding lut. A memory-mappable one is filled
// through a mapping, with no kernel work per slot; a plain one with batch
// updates (one kernel update per slot).
func newLUT(lut []uint32, flags uint32) (*ebpf.Map, error) {
	inner, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "skiff_maglev",
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(len(lut)),
		Flags:      flags,
	})
	if err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	if flags&bpf.FlagMmapable != 0 {
		if err := fillMapped(inner, lut); err != nil {
			inner.Close()
			return nil, fmt.Errorf("fill table: %w", err)
		}
		return inner, nil
	}
	keys := make([]uint32, len(lut))
	for i := range keys {
		keys[i] = uint32(i)
	}
	if err := batchUpdate(inner, keys, lut); err != nil {
		inner.Close()
		return nil, fmt.Errorf("fill table: %w", err)
	}
	return inner, nil
}

// fillMapped writes lut into a fresh memory-mappable array. The kernel
// lays array elements out 8 bytes apart (round_up(value_size, 8)).
func fillMapped(m *ebpf.Map, lut []uint32) error {
	const elem = 8
	page := unix.Getpagesize()
	size := (len(lut)*elem + page - 1) / page * page
	b, err := unix.Mmap(m.FD(), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map table: %w", err)
	}
	for i, v := range lut {
		binary.NativeEndian.PutUint32(b[i*elem:], v)
	}
	if err := unix.Munmap(b); err != nil {
		return fmt.Errorf("unmap table: %w", err)
	}
	return nil
}

const batchChunk = 8192

func batchUpdate[K, V any](m *ebpf.Map, keys []K, vals []V) error {
	for i := 0; i < len(keys); i += batchChunk {
		j := min(i+batchChunk, len(keys))
		if _, err := m.BatchUpdate(keys[i:j], vals[i:j], nil); err != nil {
			return err
		}
	}
	return nil
}

// batchDelete deletes keys, tolerating ones already gone (drift).
func batchDelete[K any](m *ebpf.Map, keys []K) error {
	for i := 0; i < len(keys); i += batchChunk {
		j := min(i+batchChunk, len(keys))
		n, err := m.BatchDelete(keys[i:j], nil)
		if err == nil {
			continue
		}
		if !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
		// The batch stops at the first missing key: delete the rest singly.
		for _, k := range keys[i+n : j] {
			if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return err
			}
		}
	}
	return nil
}

// changedKeys lists, sorted, the keys whose value in want is not the one in
// cur.
func changedKeys[K, V comparable](want, cur map[K]V, c func(a, b K) int) []K {
	var out []K
	for k, v := range want {
		if old, ok := cur[k]; !ok || old != v {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, c)
	return out
}

// goneKeys lists, sorted, the keys of a that b lacks.
func goneKeys[K comparable, V, W any](a map[K]V, b map[K]W, c func(a, b K) int) []K {
	var out []K
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, c)
	return out
}

func compareServiceKey(a, b bpf.ServiceKey) int {
	for i := range a.Addr.W {
		if c := cmp.Compare(a.Addr.W[i], b.Addr.W[i]); c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Proto, b.Proto))
}

func compareMatch(a, b bpf.AffinityMatchKey) int {
	return cmp.Or(cmp.Compare(a.SvcId, b.SvcId), cmp.Compare(a.BackendId, b.BackendId))
}
