//go:build linux

package reconciler

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// backendArray is the backends map (an array indexed by backend id)
// through a mapping: the reconciler writes entries with plain stores. An
// entry whose port is 0 is no backend (the datapath refuses it).
type backendArray struct {
	m   *ebpf.Map
	mem []byte
}

// beElem is the distance between array elements: sizeof(struct
// backend_val) = 20, rounded up to 8. The port and pad share the 32-bit
// word at beWord.
const (
	beElem = 24
	beWord = 16
)

func mapBackends(m *ebpf.Map, readOnly bool) (*backendArray, error) {
	page := unix.Getpagesize()
	size := (int(m.MaxEntries())*beElem + page - 1) / page * page
	prot := unix.PROT_READ
	if !readOnly {
		prot |= unix.PROT_WRITE
	}
	b, err := unix.Mmap(m.FD(), 0, size, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map backends: %w", err)
	}
	return &backendArray{m: m, mem: b}, nil
}

func (b *backendArray) close() {
	if b != nil && b.mem != nil {
		unix.Munmap(b.mem)
		b.mem = nil
	}
}

func (b *backendArray) word(id uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&b.mem[int(id)*beElem+beWord]))
}

// each calls f for every backend.
func (b *backendArray) each(f func(id uint32, a netip.AddrPort)) {
	n := b.m.MaxEntries()
	for id := range n {
		e := b.mem[int(id)*beElem:]
		port := binary.NativeEndian.Uint16(e[beWord:])
		if port == 0 {
			continue
		}
		var w [4]uint32
		for i := range w {
			w[i] = binary.NativeEndian.Uint32(e[4*i:])
		}
		f(id, netip.AddrPortFrom(bpf.AddrFrom(w), bpf.PortFrom(port)))
	}
}

// put writes backend id. The address goes first and the port last, with
// an atomic store, so a hook that sees the port sees the address.
func (b *backendArray) put(id uint32, a netip.AddrPort) error {
	if id >= b.m.MaxEntries() {
		return fmt.Errorf("backend id %d beyond the map's %d entries", id, b.m.MaxEntries())
	}
	if a.Port() == 0 {
		return fmt.Errorf("backend %s: port 0", a)
	}
	e := b.mem[int(id)*beElem:]
	w := bpf.Addr(a.Addr())
	if atomic.LoadUint32(b.word(id)) != 0 {
		// Rewriting a live entry (drift repair): hide it first.
		atomic.StoreUint32(b.word(id), 0)
	}
	for i := range w {
		binary.NativeEndian.PutUint32(e[4*i:], w[i])
	}
	var pw [4]byte
	binary.NativeEndian.PutUint16(pw[:], bpf.Port(a.Port()))
	atomic.StoreUint32(b.word(id), binary.NativeEndian.Uint32(pw[:]))
	return nil
}

// clear removes backend id: port first, then the address.
func (b *backendArray) clear(id uint32) {
	if id >= b.m.MaxEntries() {
		return
	}
	atomic.StoreUint32(b.word(id), 0)
	clear(b.mem[int(id)*beElem : int(id)*beElem+beWord])
}
