//go:build linux

package reconciler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// Maglev tables live in chunks: memory-mappable arrays in maglev_chunks,
// each holding per tables of one size. A table is addressed by lutLoc, which
// the frontend entries (svc_val, ext_val) carry. Tables are written through
// the reconciler's mapping of the chunk with plain stores; a changed table
// goes to a free slot and the frontends are flipped to it before the old
// slot is released, so a hook reads either the whole old table or the whole
// new one.

// chunkSlots is how many entries a chunk aims for (2 MiB of kernel memory:
// array elements are 8 bytes apart); a chunk holds at least one table.
const chunkSlots = 1 << 18

// lutLoc is where a table lives: a chunk and its first entry there.
type lutLoc struct{ chunk, off uint32 }

// chunk is one memory-mappable array of per tables of size entries each.
type chunk struct {
	id        uint32
	size, per uint32
	m         *ebpf.Map
	kernelID  ebpf.MapID
	mem       []byte
	used      bitmap
	nUsed     int
	// hint is the lowest slot that may be free.
	hint      uint32
	installed bool
}

// chunkSet is the reconciler's view of maglev_chunks: the chunks it has
// mapped and which of their table slots are in use.
type chunkSet struct {
	outer    *ebpf.Map
	readOnly bool
	chunks   map[uint32]*chunk
	// retired are slots released by the last apply and draining those
	// released by the one before: a hook that read a frontend before it
	// was flipped may still be reading the old table, so a slot becomes
	// free only when the apply after next starts (flushRetired), a whole
	// apply later. That is not a grace period, but a hook reads its table
	// within a microsecond of its frontend.
	retired, draining []lutLoc
	// lastSize is the size of the table written last: the size empty
	// chunks are kept for.
	lastSize uint32
	// fill is, per table size, the lowest chunk that may have a free slot.
	fill map[uint32]*chunk
}

func newChunkSet(outer *ebpf.Map, readOnly bool) *chunkSet {
	return &chunkSet{outer: outer, readOnly: readOnly, chunks: map[uint32]*chunk{}, fill: map[uint32]*chunk{}}
}

// close unmaps and closes every chunk; the kernel keeps installed ones.
func (cs *chunkSet) close() {
	for _, c := range cs.chunks {
		c.close()
	}
	clear(cs.chunks)
}

func (c *chunk) close() {
	if c.mem != nil {
		unix.Munmap(c.mem)
		c.mem = nil
	}
	if c.m != nil {
		c.m.Close()
		c.m = nil
	}
}

func mapChunk(m *ebpf.Map, readOnly bool) ([]byte, error) {
	const elem = 8
	page := unix.Getpagesize()
	size := (int(m.MaxEntries())*elem + page - 1) / page * page
	prot := unix.PROT_READ
	if !readOnly {
		prot |= unix.PROT_WRITE
	}
	b, err := unix.Mmap(m.FD(), 0, size, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map maglev chunk: %w", err)
	}
	return b, nil
}

// open returns the chunk installed at id, mapping it if the kernel's map
// there is not the one held (or none is held), and nil if there is none.
func (cs *chunkSet) open(id uint32) (c *chunk, fresh bool, err error) {
	var kid uint32
	if err := cs.outer.Lookup(id, &kid); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			cs.drop(id)
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read maglev chunk %d: %w", id, err)
	}
	if c := cs.chunks[id]; c != nil && c.kernelID == ebpf.MapID(kid) && c.installed {
		return c, false, nil
	}
	cs.drop(id)
	var m *ebpf.Map
	if err := cs.outer.Lookup(id, &m); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("open maglev chunk %d: %w", id, err)
	}
	mem, err := mapChunk(m, cs.readOnly)
	if err != nil {
		m.Close()
		return nil, false, err
	}
	c = &chunk{id: id, m: m, kernelID: ebpf.MapID(kid), mem: mem, installed: true}
	cs.chunks[id] = c
	return c, true, nil
}

func (cs *chunkSet) drop(id uint32) {
	if c := cs.chunks[id]; c != nil {
		c.close()
		delete(cs.chunks, id)
		if cs.fill[c.size] == c {
			delete(cs.fill, c.size)
		}
	}
}

// read returns the table of size entries at loc in c, or false if loc is
// not a table slot of c for tables of that size.
func (c *chunk) read(loc lutLoc, size uint32) ([]uint32, bool) {
	if size == 0 || loc.off%size != 0 || uint64(loc.off)+uint64(size) > uint64(c.m.MaxEntries()) {
		return nil, false
	}
	if c.size == 0 {
		// Adopted: the first table read says the chunk's table size.
		c.size, c.per = size, c.m.MaxEntries()/size
	} else if c.size != size {
		return nil, false
	}
	lut := make([]uint32, size)
	for i := range lut {
		lut[i] = binary.NativeEndian.Uint32(c.mem[(int(loc.off)+i)*8:])
	}
	return lut, true
}

// use marks loc's slot taken (a table found installed).
func (cs *chunkSet) use(loc lutLoc) {
	c := cs.chunks[loc.chunk]
	if c == nil || c.size == 0 {
		return
	}
	s := loc.off / c.size
	if !c.used.has(s) {
		c.used.set(s)
		c.nUsed++
	}
}

// release retires loc's slot: it is free from the second flushRetired on.
func (cs *chunkSet) release(loc lutLoc) {
	cs.retired = append(cs.retired, loc)
}

// flushRetired frees the slots retired two applies ago.
func (cs *chunkSet) flushRetired() {
	for _, loc := range cs.draining {
		cs.free(loc)
	}
	cs.draining, cs.retired = cs.retired, cs.draining[:0]
}

func (cs *chunkSet) free(loc lutLoc) {
	c := cs.chunks[loc.chunk]
	if c == nil || c.size == 0 {
		return
	}
	s := loc.off / c.size
	if c.used.has(s) {
		c.used.unset(s)
		c.nUsed--
		c.hint = min(c.hint, s)
		if f := cs.fill[c.size]; f == nil || c.id < f.id {
			cs.fill[c.size] = c
		}
	}
}

// resetUse forgets which slots are taken (before re-marking them all),
// but for the retired ones.
func (cs *chunkSet) resetUse() {
	for _, c := range cs.chunks {
		c.used.clear()
		c.nUsed = 0
		c.hint = 0
	}
	clear(cs.fill)
	for _, loc := range cs.retired {
		cs.use(loc)
	}
	for _, loc := range cs.draining {
		cs.use(loc)
	}
}

// write puts lut in a free slot, making a new chunk (installed by
// installNew) if no chunk of its size has one.
func (cs *chunkSet) write(lut []uint32) (lutLoc, error) {
	size := uint32(len(lut))
	cs.lastSize = size
	c := cs.fill[size]
	if c == nil || uint32(c.nUsed) >= c.per {
		// The lowest chunk of this size with room, or a new one.
		c = nil
		for _, id := range slices.Sorted(mapsKeys(cs.chunks)) {
			if x := cs.chunks[id]; x.size == size && uint32(x.nUsed) < x.per {
				c = x
				break
			}
		}
		if c == nil {
			var err error
			if c, err = cs.create(size); err != nil {
				return lutLoc{}, err
			}
		}
		cs.fill[size] = c
	}
	s := c.hint
	for s < c.per && c.used.has(s) {
		s++
	}
	c.used.set(s)
	c.nUsed++
	c.hint = s + 1
	loc := lutLoc{chunk: c.id, off: s * size}
	b := c.mem[int(loc.off)*8:]
	for i, v := range lut {
		binary.NativeEndian.PutUint32(b[i*8:], v)
	}
	return loc, nil
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// create makes and maps a chunk for tables of size entries at the lowest
// free chunk id.
func (cs *chunkSet) create(size uint32) (*chunk, error) {
	var id uint32
	for ; id < cs.outer.MaxEntries(); id++ {
		if cs.chunks[id] == nil {
			break
		}
	}
	if id == cs.outer.MaxEntries() {
		return nil, fmt.Errorf("all %d maglev chunks in use", id)
	}
	per := max(1, chunkSlots/size)
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "skiff_maglev",
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: per * size,
		Flags:      bpf.ChunkFlags,
	})
	if err != nil {
		return nil, fmt.Errorf("create maglev chunk: %w", err)
	}
	mem, err := mapChunk(m, false)
	if err != nil {
		m.Close()
		return nil, err
	}
	kid, err := mapID(m)
	if err != nil {
		unix.Munmap(mem)
		m.Close()
		return nil, err
	}
	c := &chunk{id: id, size: size, per: per, m: m, kernelID: kid, mem: mem}
	cs.chunks[id] = c
	return c, nil
}

// installNew puts the chunks made since the last call into the outer map,
// in one batch: each call waits for an RCU grace period.
func (cs *chunkSet) installNew() error {
	var ids, fds []uint32
	for id, c := range cs.chunks {
		if !c.installed {
			ids, fds = append(ids, id), append(fds, uint32(c.m.FD()))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := cs.outer.BatchUpdate(ids, fds, nil)
	if errors.Is(err, ebpf.ErrNotSupported) {
		err = nil
		for _, id := range ids {
			if err = cs.outer.Update(id, cs.chunks[id].m, ebpf.UpdateAny); err != nil {
				break
			}
		}
	}
	if err != nil {
		for _, id := range ids {
			cs.drop(id)
		}
		return fmt.Errorf("install maglev chunks: %w", err)
	}
	for _, id := range ids {
		cs.chunks[id].installed = true
	}
	return nil
}

// removeEmpty deletes chunks no table uses from the outer map, keeping one
// empty chunk of the size tables are written in for the next tables (the
// chunks of an old size, after the table size changed, all go).
func (cs *chunkSet) removeEmpty() error {
	kept := map[uint32]bool{}
	var del []uint32
	for _, id := range slices.Sorted(mapsKeys(cs.chunks)) {
		c := cs.chunks[id]
		if c.nUsed > 0 || !c.installed {
			continue
		}
		if c.size != 0 && c.size == cs.lastSize && !kept[c.size] {
			kept[c.size] = true
			continue
		}
		del = append(del, id)
	}
	if len(del) == 0 {
		return nil
	}
	if err := batchDelete(cs.outer, del); err != nil {
		return fmt.Errorf("delete empty maglev chunks: %w", err)
	}
	for _, id := range del {
		cs.drop(id)
	}
	return nil
}
