//go:build linux

package reconciler

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

// Snapshot describes the owned maps in readable terms, sorted.
type Snapshot struct {
	Frontends []FrontendEntry
	// External are the TC path's frontends (packets from other hosts).
	External []ExternalEntry
	Backends []BackendEntry
	Tables   []TableEntry
	// Affinity lists, per service id with affinity, its member backend ids.
	Affinity map[uint32][]uint32
	// Stats sums the per-CPU counters of each listed service id.
	Stats map[uint32]bpf.ServiceStats
}

// FrontendEntry is one services map entry.
type FrontendEntry struct {
	Frontend        netip.AddrPort
	Protocol        uint8
	ServiceID       uint32
	Backends        uint32
	TableSize       uint32
	AffinitySeconds uint32
}

// ExternalEntry is one ext_services map entry.
type ExternalEntry struct {
	Frontend  netip.AddrPort
	Protocol  uint8
	ServiceID uint32
	Backends  uint32
	TableSize uint32
	// SNAT is the address packets are masqueraded to; invalid when the
	// client address is kept (externalTrafficPolicy: Local).
	SNAT netip.Addr
}

// BackendEntry is one backends map entry.
type BackendEntry struct {
	ID   uint32
	Addr netip.AddrPort
}

// TableEntry is one service's Maglev table, as slots owned per backend id.
type TableEntry struct {
	ServiceID uint32
	Size      int
	Slots     map[uint32]int
}

// ReadPinned reads the maps pinned under pinDir without loading programs,
// for status reports while no proxy runs.
func ReadPinned(pinDir string) (*Snapshot, error) {
	var ms mapSet
	var chunks *ebpf.Map
	var opened []*ebpf.Map
	defer func() {
		for _, m := range opened {
			m.Close()
		}
	}()
	for name, dst := range map[string]**ebpf.Map{bpf.MapServices: &ms.services, bpf.MapBackends: &ms.backends,
		bpf.MapMaglevChunks: &chunks, bpf.MapAffinityMatch: &ms.match, bpf.MapStats: &ms.stats, bpf.MapExtServices: &ms.ext} {
		// backends is mapped (read only), which a read-only descriptor
		// does not allow.
		m, err := ebpf.LoadPinnedMap(filepath.Join(mapsDir(pinDir), name), &ebpf.LoadPinOptions{ReadOnly: name != bpf.MapBackends})
		if err != nil {
			return nil, fmt.Errorf("open pinned map %s: %w", name, err)
		}
		opened = append(opened, m)
		*dst = m
	}
	ms.chunks = newChunkSet(chunks, true)
	bes, err := mapBackends(ms.backends, true)
	if err != nil {
		return nil, err
	}
	defer bes.close()
	ms.bes = bes
	return snapshot(ms)
}

// snapshot reads m through chunk mappings of its own, leaving m's record
// of used table slots alone.
func snapshot(m mapSet) (*Snapshot, error) {
	m.chunks = newChunkSet(m.chunks.outer, true)
	defer m.chunks.close()
	st, err := readState(m, nil, nil)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Affinity: map[uint32][]uint32{}, Stats: map[uint32]bpf.ServiceStats{}}
	for k, v := range st.services {
		s.Frontends = append(s.Frontends, FrontendEntry{Frontend: frontendOf(k), Protocol: k.Proto, ServiceID: v.Id,
			Backends: v.Count, TableSize: v.LutSize, AffinitySeconds: v.AffinityTimeout})
		if _, ok := s.Stats[v.Id]; !ok {
			sum, err := sumStats(m.stats, v.Id)
			if err != nil {
				return nil, err
			}
			s.Stats[v.Id] = sum
		}
	}
	for k, v := range st.ext {
		e := ExternalEntry{Frontend: frontendOf(k), Protocol: k.Proto, ServiceID: v.Id, Backends: v.Count, TableSize: v.LutSize}
		if v.Flags&bpf.ExtFlagSNAT != 0 {
			e.SNAT = bpf.AddrFrom(v.Snat.W)
		}
		s.External = append(s.External, e)
		if _, ok := s.Stats[v.Id]; !ok {
			sum, err := sumStats(m.stats, v.Id)
			if err != nil {
				return nil, err
			}
			s.Stats[v.Id] = sum
		}
	}
	slices.SortFunc(s.Frontends, func(a, b FrontendEntry) int {
		return cmp.Or(a.Frontend.Compare(b.Frontend), cmp.Compare(a.Protocol, b.Protocol))
	})
	slices.SortFunc(s.External, func(a, b ExternalEntry) int {
		return cmp.Or(a.Frontend.Compare(b.Frontend), cmp.Compare(a.Protocol, b.Protocol))
	})
	for id, a := range st.backends {
		s.Backends = append(s.Backends, BackendEntry{ID: id, Addr: a})
	}
	slices.SortFunc(s.Backends, func(a, b BackendEntry) int { return cmp.Compare(a.ID, b.ID) })
	for id, lut := range st.luts {
		t := TableEntry{ServiceID: id, Size: len(lut), Slots: map[uint32]int{}}
		for _, b := range lut {
			t.Slots[b]++
		}
		s.Tables = append(s.Tables, t)
	}
	slices.SortFunc(s.Tables, func(a, b TableEntry) int { return cmp.Compare(a.ServiceID, b.ServiceID) })
	for k := range st.match {
		s.Affinity[k.SvcId] = append(s.Affinity[k.SvcId], k.BackendId)
	}
	for _, ids := range s.Affinity {
		slices.Sort(ids)
	}
	return s, nil
}

// sumStats adds up one service id's per-CPU counters.
func sumStats(stats *ebpf.Map, id uint32) (bpf.ServiceStats, error) {
	var per []bpf.ServiceStats
	var sum bpf.ServiceStats
	if err := stats.Lookup(id, &per); err != nil {
		return sum, fmt.Errorf("read counters of service %d: %w", id, err)
	}
	for _, c := range per {
		sum.Translated += c.Translated
		sum.Refused += c.Refused
	}
	return sum, nil
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 132:
		return "SCTP"
	}
	return fmt.Sprint(p)
}

// String renders the snapshot as stable text (golden files, status).
// Counters are left out: they depend on traffic.
func (s *Snapshot) String() string {
	var b strings.Builder
	b.WriteString("services:\n")
	for _, f := range s.Frontends {
		fmt.Fprintf(&b, "  %s/%s: id=%d backends=%d table=%d", f.Frontend, protoName(f.Protocol), f.ServiceID, f.Backends, f.TableSize)
		if f.AffinitySeconds != 0 {
			fmt.Fprintf(&b, " affinity=%ds", f.AffinitySeconds)
		}
		b.WriteString("\n")
	}
	b.WriteString("external:\n")
	for _, f := range s.External {
		fmt.Fprintf(&b, "  %s/%s: id=%d backends=%d table=%d", f.Frontend, protoName(f.Protocol), f.ServiceID, f.Backends, f.TableSize)
		if f.SNAT.IsValid() {
			fmt.Fprintf(&b, " snat=%s", f.SNAT)
		} else {
			b.WriteString(" keep-client")
		}
		b.WriteString("\n")
	}
	b.WriteString("backends:\n")
	for _, be := range s.Backends {
		fmt.Fprintf(&b, "  %d: %s\n", be.ID, be.Addr)
	}
	b.WriteString("maglev:\n")
	for _, t := range s.Tables {
		fmt.Fprintf(&b, "  %d: size=%d slots=", t.ServiceID, t.Size)
		for i, id := range slices.Sorted(maps.Keys(t.Slots)) {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%d:%d", id, t.Slots[id])
		}
		b.WriteString("\n")
	}
	b.WriteString("affinity_match:\n")
	for _, id := range slices.Sorted(maps.Keys(s.Affinity)) {
		fmt.Fprintf(&b, "  %d: %v\n", id, s.Affinity[id])
	}
	return b.String()
}
