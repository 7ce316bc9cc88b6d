//go:build linux

package reconciler

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
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
	luts map[uint32][]uint32
	// locs says where each table of luts is installed, once it is; the
	// services and ext values carry the same location.
	locs  map[uint32]lutLoc
	match map[bpf.AffinityMatchKey]struct{}
	// ext are the TC path's frontends (ext_services).
	ext map[bpf.ServiceKey]bpf.ExtValue
}

func newState() state {
	return state{
		services: map[bpf.ServiceKey]bpf.ServiceValue{},
		backends: map[uint32]netip.AddrPort{},
		luts:     map[uint32][]uint32{},
		locs:     map[uint32]lutLoc{},
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
	services, backends, match, stats, ext *ebpf.Map
	// bes is backends through a mapping, where entries are read and written.
	bes *backendArray
	// chunks holds the Maglev tables (maglev_chunks).
	chunks *chunkSet
}

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

// readState reads the owned maps from the kernel, and marks the table
// slots the frontends use as taken. A table at the location recorded in
// knownLocs, in a chunk still installed as it was mapped, is taken from
// known instead of being read (only the reconciler writes tables).
func readState(m mapSet, known map[uint32][]uint32, knownLocs map[uint32]lutLoc) (state, error) {
	s := newState()
	if err := readAll(m.services, func(k bpf.ServiceKey, v bpf.ServiceValue) { s.services[k] = v }); err != nil {
		return s, fmt.Errorf("read services map: %w", err)
	}
	m.bes.each(func(id uint32, a netip.AddrPort) { s.backends[id] = a })
	if err := readAll(m.ext, func(k bpf.ServiceKey, v bpf.ExtValue) { s.ext[k] = v }); err != nil {
		return s, fmt.Errorf("read ext_services map: %w", err)
	}
	if err := readAll(m.match, func(k bpf.AffinityMatchKey, _ uint8) { s.match[k] = struct{}{} }); err != nil {
		return s, fmt.Errorf("read affinity_match map: %w", err)
	}
	// The tables the frontends name, in sorted order so that the first
	// frontend of an id decides should two disagree.
	type ref struct {
		id, size uint32
		loc      lutLoc
	}
	var refs []ref
	for _, v := range s.services {
		if v.LutSize != 0 {
			refs = append(refs, ref{v.Id, v.LutSize, lutLoc{v.LutChunk, v.LutOff}})
		}
	}
	for _, v := range s.ext {
		if v.LutSize != 0 {
			refs = append(refs, ref{v.Id, v.LutSize, lutLoc{v.LutChunk, v.LutOff}})
		}
	}
	slices.SortFunc(refs, func(a, b ref) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.loc.chunk, b.loc.chunk), cmp.Compare(a.loc.off, b.loc.off))
	})
	m.chunks.resetUse()
	type opened struct {
		c     *chunk
		fresh bool
	}
	chunks := map[uint32]opened{}
	for _, r := range refs {
		if _, ok := s.luts[r.id]; ok {
			continue
		}
		o, ok := chunks[r.loc.chunk]
		if !ok {
			c, fresh, err := m.chunks.open(r.loc.chunk)
			if err != nil {
				return s, err
			}
			o = opened{c, fresh}
			chunks[r.loc.chunk] = o
		}
		if o.c == nil {
			continue // no such chunk: the table is missing
		}
		if lut, ok := known[r.id]; ok && !o.fresh && knownLocs[r.id] == r.loc && uint32(len(lut)) == r.size && o.c.size == r.size {
			s.luts[r.id], s.locs[r.id] = lut, r.loc
			m.chunks.use(r.loc)
			continue
		}
		lut, ok := o.c.read(r.loc, r.size)
		if !ok {
			continue // not a table slot: the table is missing
		}
		s.luts[r.id], s.locs[r.id] = lut, r.loc
		m.chunks.use(r.loc)
	}
	return s, nil
}

// readAll calls f for every entry of a map, reading in batches where
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
// want's tables get locations (want.locs) and its frontends the locations
// of their tables: a table equal to cur's stays where it is, any other goes
// to a free slot, and the slots cur's tables leave are freed once no
// frontend names them.
func apply(m mapSet, cur, want state, newIDs []uint32, after func(step)) (SyncStats, error) {
	var st SyncStats
	if after == nil {
		after = func(step) {}
	}

	after(stepApplyStart)

	// 1. Backends, with stores through the mapping.
	for id, a := range want.backends {
		if old, ok := cur.backends[id]; ok && old == a {
			continue
		}
		if err := m.bes.put(id, a); err != nil {
			return st, fmt.Errorf("write backends: %w", err)
		}
		st.BackendsWritten++
	}
	after(stepBackendsWrite)

	// 2. Affinity membership, before a table can hand out the backend.
	mkAdd := goneKeys(want.match, cur.match, compareMatch)
	if err := batchUpdate(m.match, mkAdd, make([]uint8, len(mkAdd))); err != nil {
		return st, fmt.Errorf("write affinity_match: %w", err)
	}
	st.MatchWritten = len(mkAdd)
	after(stepMatchWrite)

	// 3. Maglev tables: changed ones written to free slots, so a hook
	// reads either the old table or the whole new one.
	m.chunks.flushRetired()
	if err := resetStats(m.stats, newIDs); err != nil {
		return st, err
	}
	var moved []uint32
	for id, lut := range want.luts {
		old, ok := cur.luts[id]
		loc, placed := cur.locs[id]
		if placed && ok && (len(old) > 0 && len(old) == len(lut) && &old[0] == &lut[0] || slices.Equal(old, lut)) {
			want.locs[id] = loc
			continue
		}
		moved = append(moved, id)
	}
	slices.Sort(moved)
	for _, id := range moved {
		loc, err := m.chunks.write(want.luts[id])
		if err != nil {
			return st, fmt.Errorf("maglev table of service %d: %w", id, err)
		}
		want.locs[id] = loc
	}
	if err := m.chunks.installNew(); err != nil {
		return st, err
	}
	st.TablesWritten = len(moved)
	// Every frontend names its table's location.
	for k, v := range want.services {
		if loc, ok := want.locs[v.Id]; ok && v.LutSize != 0 {
			v.LutChunk, v.LutOff = loc.chunk, loc.off
			want.services[k] = v
		}
	}
	for k, v := range want.ext {
		if loc, ok := want.locs[v.Id]; ok && v.LutSize != 0 {
			v.LutChunk, v.LutOff = loc.chunk, loc.off
			want.ext[k] = v
		}
	}
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

	// 6. Slots of tables no frontend uses any more, and chunks left empty.
	for id, loc := range cur.locs {
		if nl, ok := want.locs[id]; !ok || nl != loc {
			m.chunks.release(loc)
			st.TablesDeleted++
		}
	}
	if err := m.chunks.removeEmpty(); err != nil {
		return st, err
	}
	after(stepTablesDel)

	// 7. and 8. Membership and backends nothing refers to.
	mkDel := goneKeys(cur.match, want.match, compareMatch)
	if err := batchDelete(m.match, mkDel); err != nil {
		return st, fmt.Errorf("delete affinity_match: %w", err)
	}
	st.MatchDeleted = len(mkDel)
	after(stepMatchDel)

	beDel := goneKeys(cur.backends, want.backends, cmp.Compare[uint32])
	for _, id := range beDel {
		m.bes.clear(id)
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
		if errors.Is(err, ebpf.ErrNotSupported) {
			err, n = ebpf.ErrKeyNotExist, 0 // (maps of maps) delete singly
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
