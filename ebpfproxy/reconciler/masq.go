//go:build linux

package reconciler

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// tcEgressPinPrefix starts the pin names of the masquerade's TC egress
// links; the interface name follows.
const tcEgressPinPrefix = "tcx-egress-"

// masqueradeIfaces are the interfaces whose egress gets the masquerade
// program: Interfaces when cluster CIDRs are set, none otherwise.
func (c *Config) masqueradeIfaces() []string {
	if len(c.ClusterCIDRs) == 0 {
		return nil
	}
	return c.Interfaces
}

// wantMasqNets is what masq_nets must hold: the cluster CIDRs, and every
// node address as a destination to leave alone. Nothing when masquerading
// is off, so the egress program (if still attached) passes everything.
func (r *Reconciler) wantMasqNets(ch tables.Changes) map[bpf.MasqNetKey]uint32 {
	want := map[bpf.MasqNetKey]uint32{}
	if len(r.cfg.ClusterCIDRs) == 0 {
		return want
	}
	for _, p := range r.cfg.ClusterCIDRs {
		want[bpf.NewMasqNetKey(p)] |= bpf.MasqFlagCluster
	}
	for _, a := range slices.Concat(ch.Node.Addresses, ch.ClusterNodeAddresses) {
		a = a.Unmap()
		want[bpf.NewMasqNetKey(netip.PrefixFrom(a, a.BitLen()))] |= bpf.MasqFlagKeepDst
	}
	return want
}

// wantMasqAddrs maps each masquerading interface's index to the IPv4
// address its masqueraded packets get: the node's own address when the
// interface has it, else the interface's first global IPv4 address.
// Interfaces without one are left out (their pods' egress is not
// masqueraded).
func (r *Reconciler) wantMasqAddrs(ch tables.Changes) (map[uint32]bpf.LBAddr, error) {
	want := map[uint32]bpf.LBAddr{}
	ifaces := r.cfg.masqueradeIfaces()
	if len(ifaces) == 0 {
		return want, nil
	}
	var err error
	inNetNS(r.cfg.NetNS, func() error {
		for _, name := range ifaces {
			ifc, err := net.InterfaceByName(name)
			if err != nil {
				return fmt.Errorf("masquerade interface %s: %w", name, err)
			}
			addrs, err := ifc.Addrs()
			if err != nil {
				return fmt.Errorf("addresses of %s: %w", name, err)
			}
			var first netip.Addr
			for _, a := range addrs {
				n, ok := a.(*net.IPNet)
				if !ok {
					continue
				}
				ip, ok := netip.AddrFromSlice(n.IP)
				if !ok {
					continue
				}
				ip = ip.Unmap()
				if !ip.Is4() || !ip.IsGlobalUnicast() {
					continue
				}
				if slices.Contains(ch.Node.Addresses, ip) {
					first = ip
					break
				}
				if !first.IsValid() {
					first = ip
				}
			}
			if first.IsValid() {
				want[uint32(ifc.Index)] = bpf.LBAddr{W: bpf.Addr(first)}
			}
		}
		return nil
	}, &err)
	return want, err
}

// syncMasq makes masq_nets and masq_addrs hold exactly what the
// configuration and the node addresses in ch ask for, comparing with what
// the maps hold (so entries changed behind our back are repaired too).
func (r *Reconciler) syncMasq(ch tables.Changes) error {
	addrs, err := r.wantMasqAddrs(ch)
	if err != nil {
		return err
	}
	return errors.Join(
		syncMap(r.objs.MasqNets, r.wantMasqNets(ch)),
		syncMap(r.objs.MasqAddrs, addrs),
	)
}

// syncMap writes want into m and deletes the keys of m not in it.
func syncMap[K comparable, V comparable](m *ebpf.Map, want map[K]V) error {
	have := map[K]V{}
	var (
		k K
		v V
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		have[k] = v
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read map %s: %w", m, err)
	}
	for _, k := range slices.Collect(maps.Keys(have)) {
		if _, ok := want[k]; !ok {
			if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("delete from map %s: %w", m, err)
			}
		}
	}
	for k, v := range want {
		if hv, ok := have[k]; ok && hv == v {
			continue
		}
		if err := m.Put(k, v); err != nil {
			return fmt.Errorf("write map %s: %w", m, err)
		}
	}
	return nil
}
