package tables

import (
	"net/netip"
	"slices"
)

// buildLBServices turns one service and its backends into load-balancing
// units: per port, one for ClusterIP frontends and, when
// internalTrafficPolicy is Local, a second one for NodePort, externalIP and
// load-balancer frontends.
//
// Every socket the hooks see is local to this node, so the external scope
// always uses cluster-wide endpoints: kube-proxy likewise sends traffic that
// originates on the node (or in its pods) to an externalTrafficPolicy: Local
// service's external addresses to all endpoints.
func buildLBServices(svc Service, all []Backend, node Node) []LBService {
	if len(svc.ClusterIPs) == 0 {
		return nil // headless
	}
	// A dual-stack service is two services to the datapath, one per family,
	// as kube-proxy runs one proxier per family.
	var out []LBService
	for _, fam := range []Family{IPv4, IPv6} {
		if f := svc.onlyFamily(fam); len(f.ClusterIPs) > 0 {
			out = append(out, buildFamily(f, fam, all, node)...)
		}
	}
	return out
}

// onlyFamily keeps the addresses of one family.
func (s Service) onlyFamily(fam Family) Service {
	keep := func(in []netip.Addr) []netip.Addr {
		var out []netip.Addr
		for _, a := range in {
			if familyOf(a) == fam {
				out = append(out, a)
			}
		}
		return out
	}
	s.ClusterIPs, s.ExternalIPs, s.LoadBalancerIPs = keep(s.ClusterIPs), keep(s.ExternalIPs), keep(s.LoadBalancerIPs)
	return s
}

func familyOf(a netip.Addr) Family {
	if a.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

func buildFamily(svc Service, fam Family, all []Backend, node Node) []LBService {
	var out []LBService
	for _, p := range svc.Ports {
		var matching []Backend
		for _, b := range all {
			if b.PortName == p.Name && b.Protocol == p.Protocol && familyOf(b.Addr.Addr()) == fam {
				matching = append(matching, b)
			}
		}
		matching = dedupe(matching)
		cluster := clusterEndpoints(matching, node)

		internal := LBService{
			Key:             LBKey{Service: svc.Name, Port: p.Name, Protocol: p.Protocol, Family: fam, Scope: ScopeInternal},
			AffinityTimeout: svc.AffinityTimeout,
			Backends:        cluster,
		}
		for _, ip := range svc.ClusterIPs {
			internal.Frontends = append(internal.Frontends, Frontend{netip.AddrPortFrom(ip, p.Port), p.Protocol, ClusterIP})
		}
		var ext []Frontend
		for _, ip := range svc.ExternalIPs {
			ext = append(ext, Frontend{netip.AddrPortFrom(ip, p.Port), p.Protocol, ExternalIP})
		}
		for _, ip := range svc.LoadBalancerIPs {
			ext = append(ext, Frontend{netip.AddrPortFrom(ip, p.Port), p.Protocol, LoadBalancer})
		}
		if p.NodePort != 0 {
			for _, ip := range node.Addresses {
				if familyOf(ip) == fam {
					ext = append(ext, Frontend{netip.AddrPortFrom(ip, p.NodePort), p.Protocol, NodePort})
				}
			}
		}

		extLocal := svc.ExternalTrafficPolicy == PolicyLocal
		internal.SNAT = !extLocal && len(ext) > 0
		if extLocal && len(ext) > 0 {
			out = append(out, LBService{
				Key:       LBKey{Service: svc.Name, Port: p.Name, Protocol: p.Protocol, Family: fam, Scope: ScopeNodeLocal},
				Frontends: slices.Clone(ext),
				Backends:  localEndpoints(matching, node),
			})
		}
		if svc.InternalTrafficPolicy == PolicyLocal {
			internal.Backends = localEndpoints(matching, node)
			if len(ext) > 0 {
				out = append(out, LBService{
					Key:             LBKey{Service: svc.Name, Port: p.Name, Protocol: p.Protocol, Family: fam, Scope: ScopeExternal},
					Frontends:       ext,
					Backends:        cluster,
					AffinityTimeout: svc.AffinityTimeout,
					SNAT:            !extLocal,
				})
			}
		} else {
			internal.Frontends = append(internal.Frontends, ext...)
		}
		out = append([]LBService{internal}, out...)
	}
	return out
}

// dedupe merges backends that several sources report with the same
// address: a ready copy wins over a not-ready one, as an endpoint moving
// between slices is briefly in both.
func dedupe(bs []Backend) []Backend {
	slices.SortStableFunc(bs, func(a, b Backend) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return boolRank(b.Ready) - boolRank(a.Ready)
	})
	return slices.CompactFunc(bs, func(a, b Backend) bool { return a.Addr == b.Addr })
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// clusterEndpoints follows kube-proxy's choice for Cluster traffic policy:
// ready endpoints, narrowed to the node's hints (same node, else same zone)
// when every ready endpoint carries such a hint and one names this node or
// zone; with no ready endpoint anywhere, serving terminating ones.
func clusterEndpoints(bs []Backend, node Node) []netip.AddrPort {
	mode := topologyMode(bs, node)
	out := pick(bs, func(b Backend) bool { return b.Ready && availableFor(b, mode, node) })
	if len(out) == 0 {
		out = pick(bs, func(b Backend) bool { return b.Serving && b.Terminating })
	}
	return out
}

// localEndpoints follows kube-proxy's Local traffic policy: ready endpoints
// on this node, else serving terminating ones on this node. An empty result
// refuses connections (kube-proxy drops them; a socket hook can only
// refuse).
func localEndpoints(bs []Backend, node Node) []netip.AddrPort {
	local := func(b Backend) bool { return node.Name != "" && b.NodeName == node.Name }
	out := pick(bs, func(b Backend) bool { return local(b) && b.Ready })
	if len(out) == 0 {
		out = pick(bs, func(b Backend) bool { return local(b) && b.Serving && b.Terminating })
	}
	return out
}

type topology uint8

const (
	topologyNone topology = iota
	topologySameNode
	topologySameZone
)

func topologyMode(bs []Backend, node Node) topology {
	anyReady, allNode, allZone, forNode, forZone := false, true, true, false, false
	for _, b := range bs {
		if !b.Ready {
			continue
		}
		anyReady = true
		if len(b.ForNodes) == 0 {
			allNode = false
		} else if slices.Contains(b.ForNodes, node.Name) {
			forNode = true
		}
		if len(b.ForZones) == 0 {
			allZone = false
		} else if slices.Contains(b.ForZones, node.Zone) {
			forZone = true
		}
	}
	switch {
	case !anyReady:
		return topologyNone
	case allNode && forNode:
		return topologySameNode
	case allZone && forZone:
		return topologySameZone
	}
	return topologyNone
}

func availableFor(b Backend, mode topology, node Node) bool {
	switch mode {
	case topologySameNode:
		return slices.Contains(b.ForNodes, node.Name)
	case topologySameZone:
		return slices.Contains(b.ForZones, node.Zone)
	}
	return true
}

func pick(bs []Backend, keep func(Backend) bool) []netip.AddrPort {
	var out []netip.AddrPort
	for _, b := range bs {
		if keep(b) {
			out = append(out, b.Addr)
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}
