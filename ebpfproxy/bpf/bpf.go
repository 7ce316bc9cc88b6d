//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm) && linux

package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Map and program names in lb.c.
const (
	MapServices      = lbMapServices
	MapBackends      = lbMapBackends
	MapMaglevChunks  = lbMapMaglevChunks
	MapAffinity      = lbMapAffinity
	MapAffinityMatch = lbMapAffinityMatch
	MapRevNat        = lbMapRevnat
	MapStats         = lbMapStats
	MapExtServices   = lbMapExtServices
	MapCtFwd         = lbMapCtFwd
	MapCtRev         = lbMapCtRev
	MapMasqNets      = lbMapMasqNets
	MapMasqAddrs     = lbMapMasqAddrs
)

// ProgTCIngress names the TC (tcx ingress) program that serves NodePort,
// externalIP and load-balancer frontends to packets from other hosts.
const ProgTCIngress = lbProgSkiffTcIngress

// ProgTCEgress names the TC (tcx egress) program that masquerades pod
// egress leaving through an uplink; ProgTCIngress translates the replies.
const ProgTCEgress = lbProgSkiffTcEgress

// Flags of masq_nets entries.
const (
	// MasqFlagCluster marks a cluster (pod) CIDR: its packets are
	// masqueraded, packets to it are not.
	MasqFlagCluster = 1
	// MasqFlagKeepDst marks a destination never masqueraded to (the
	// cluster's node addresses).
	MasqFlagKeepDst = 2
)

// Masqueraded flows get source ports (and ICMP echo ids) from
// MasqPortMin–MasqPortMax, above the kernel's default ephemeral range.
const (
	MasqPortMin = 61000
	MasqPortMax = 65535
)

// NewMasqNetKey returns the masq_nets (LPM trie) key of a prefix; IPv4 is
// mapped into IPv6, so its prefix length grows by 96.
func NewMasqNetKey(p netip.Prefix) MasqNetKey {
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	return MasqNetKey{Prefixlen: uint32(bits), Addr: lbLbAddr{W: Addr(p.Addr())}}
}

// MasqNetFrom converts a masq_nets key back to a prefix.
func MasqNetFrom(k MasqNetKey) netip.Prefix {
	a := AddrFrom(k.Addr.W)
	bits := int(k.Prefixlen)
	if a.Is4() {
		bits -= 96
	}
	return netip.PrefixFrom(a, bits)
}

// ExtFlagSNAT marks an ext_services entry whose packets are masqueraded to
// ExtValue.Snat (externalTrafficPolicy: Cluster).
const ExtFlagSNAT = 1

// Key and value types of the maps, generated from lb.c. Every address is
// 16 bytes in network byte order (IPv4 as ::ffff:a.b.c.d, see [Addr]) and
// every port is network byte order (see [Port]).
type (
	// ServiceKey is a frontend: address, port and IP protocol number.
	ServiceKey = lbSvcKey
	// ServiceValue is the service a frontend belongs to.
	ServiceValue = lbSvcVal
	// BackendValue is a backend address, keyed by backend id.
	BackendValue = lbBackendVal
	// AffinityKey is a client (network namespace cookie) and a service id.
	AffinityKey = lbAffinityKey
	// AffinityValue is the backend a client last used and when.
	AffinityValue = lbAffinityVal
	// AffinityMatchKey says a backend belongs to a service.
	AffinityMatchKey = lbAffinityMatchKey
	// RevNatKey is a socket cookie and the backend it was sent to.
	RevNatKey = lbRevnatKey
	// RevNatValue is the frontend a socket addressed.
	RevNatValue = lbRevnatVal
	// ExtValue is the service an ext_services frontend (TC path) uses.
	ExtValue = lbExtVal
	// CtKey is a flow as packets carry it (TC path conntrack).
	CtKey = lbCtKey
	// CtFwdValue is the backend and SNAT source chosen for a client flow.
	CtFwdValue = lbCtFwdVal
	// CtRevValue is what a backend's reply is translated back to.
	CtRevValue = lbCtRevVal
	// MasqNetKey is a masq_nets key: a prefix (see [NewMasqNetKey]).
	MasqNetKey = lbMasqNetKey
	// LBAddr is an address in the maps' form (see [Addr]).
	LBAddr = lbLbAddr
	// ServiceStats are one CPU's counters for a service id.
	ServiceStats = lbSvcStats
	// Objects are the loaded programs and maps.
	Objects = lbObjects
	// Maps are the loaded maps.
	Maps = lbMaps
	// Programs are the loaded programs.
	Programs = lbPrograms
)

// ChunkFlags are the flags every Maglev chunk must be created with: the
// kernel requires inner maps to match the outer map's template.
const ChunkFlags = FlagInnerMap | FlagMmapable

// Names of maps of the layout before Maglev chunks (a hash of maps named
// maglev holding one table per service id, 16- and 32-byte
// services/ext_services values without the table location, and backends
// in a hash map). A proxy that finds them pinned migrates their content
// (see the reconciler).
const (
	LegacyMapMaglev = "maglev"
	// LegacyServiceValueSize and LegacyExtValueSize are the value sizes
	// of services and ext_services in that layout.
	LegacyServiceValueSize = 16
	LegacyExtValueSize     = 32
)

// LegacyServiceValue is a services value of the layout before chunks.
type LegacyServiceValue struct {
	Id, Count, LutSize, AffinityTimeout uint32
}

// LegacyExtValue is an ext_services value of the layout before chunks.
type LegacyExtValue struct {
	Id, Count, LutSize, Flags uint32
	Snat                      LBAddr
}

// Map flags (uapi/linux/bpf.h).
const (
	FlagMmapable = 1 << 10 // BPF_F_MMAPABLE
	FlagInnerMap = 1 << 12 // BPF_F_INNER_MAP
)

// Hook is one socket hook program and where it attaches.
type Hook struct {
	// Name names the program in lb.c and the pinned link.
	Name   string
	Attach ebpf.AttachType
	// Program picks the program out of loaded Objects.
	Program func(*Objects) *ebpf.Program
}

// Hooks lists every socket hook the proxy attaches to its cgroup.
var Hooks = []Hook{
	{lbProgSkiffConnect4, ebpf.AttachCGroupInet4Connect, func(o *Objects) *ebpf.Program { return o.SkiffConnect4 }},
	{lbProgSkiffConnect6, ebpf.AttachCGroupInet6Connect, func(o *Objects) *ebpf.Program { return o.SkiffConnect6 }},
	{lbProgSkiffSendmsg4, ebpf.AttachCGroupUDP4Sendmsg, func(o *Objects) *ebpf.Program { return o.SkiffSendmsg4 }},
	{lbProgSkiffSendmsg6, ebpf.AttachCGroupUDP6Sendmsg, func(o *Objects) *ebpf.Program { return o.SkiffSendmsg6 }},
	{lbProgSkiffRecvmsg4, ebpf.AttachCGroupUDP4Recvmsg, func(o *Objects) *ebpf.Program { return o.SkiffRecvmsg4 }},
	{lbProgSkiffRecvmsg6, ebpf.AttachCGroupUDP6Recvmsg, func(o *Objects) *ebpf.Program { return o.SkiffRecvmsg6 }},
	{lbProgSkiffGetpeername4, ebpf.AttachCgroupInet4GetPeername, func(o *Objects) *ebpf.Program { return o.SkiffGetpeername4 }},
	{lbProgSkiffGetpeername6, ebpf.AttachCgroupInet6GetPeername, func(o *Objects) *ebpf.Program { return o.SkiffGetpeername6 }},
}

// Sizes are the capacities of the maps. Zero fields keep lb.c's defaults.
type Sizes struct {
	// Services bounds frontends, service ids and Maglev tables.
	Services uint32
	// Backends bounds distinct backend addresses.
	Backends uint32
	// Affinity bounds remembered (client, service) pairs (LRU).
	Affinity uint32
	// RevNat bounds remembered (socket, backend) pairs (LRU).
	RevNat uint32
	// Conntrack bounds each of the TC path's flow tables (LRU).
	Conntrack uint32
	// MaglevChunks bounds the Maglev chunks (each holds the tables of
	// one size); zero makes it 2×Services+16, ample for one table per
	// service and every table replaced at once.
	MaglevChunks uint32
}

// LoadSpec returns the embedded collection with every map marked to be
// pinned by name and sized per s.
func LoadSpec(s Sizes) (*ebpf.CollectionSpec, error) {
	spec, err := loadLb()
	if err != nil {
		return nil, err
	}
	set := func(name string, n uint32) {
		if n != 0 {
			spec.Maps[name].MaxEntries = n
		}
	}
	set(MapServices, s.Services)
	if s.MaglevChunks != 0 {
		set(MapMaglevChunks, s.MaglevChunks)
	} else if s.Services != 0 {
		set(MapMaglevChunks, 2*s.Services+16)
	}
	set(MapStats, s.Services)
	set(MapExtServices, s.Services)
	set(MapCtFwd, s.Conntrack)
	set(MapCtRev, s.Conntrack)
	set(MapBackends, s.Backends)
	if s.Backends != 0 {
		set(MapAffinityMatch, 4*s.Backends)
	}
	set(MapAffinity, s.Affinity)
	set(MapRevNat, s.RevNat)
	for name, m := range spec.Maps {
		if m.Pinning != ebpf.PinByName {
			return nil, fmt.Errorf("map %s is not pinned by name in lb.c", name)
		}
	}
	return spec, nil
}

// Addr converts an address to the maps' form: four network-order words,
// IPv4 mapped into IPv6.
func Addr(a netip.Addr) [4]uint32 {
	b := a.As16()
	var w [4]uint32
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

// AddrFrom converts the maps' form back; IPv4-mapped addresses become IPv4.
func AddrFrom(w [4]uint32) netip.Addr {
	var b [16]byte
	for i := range w {
		binary.NativeEndian.PutUint32(b[4*i:], w[i])
	}
	return netip.AddrFrom16(b).Unmap()
}

// Port converts a host-order port to the maps' network order.
func Port(p uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], p)
	return binary.NativeEndian.Uint16(b[:])
}

// PortFrom converts a network-order port from the maps to host order.
func PortFrom(p uint16) uint16 {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], p)
	return binary.BigEndian.Uint16(b[:])
}
