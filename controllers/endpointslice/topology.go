package endpointslice

import (
	"fmt"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Messages of the TopologyAwareHintsEnabled/Disabled events, as upstream's.
const (
	msgNoZoneSpecified       = "One or more endpoints do not have a zone specified"
	msgHintsEnabled          = "Topology Aware Hints has been enabled"
	msgHintsDisabled         = "Topology Aware Hints has been disabled"
	msgInsufficientNodeInfo  = "Insufficient Node information: allocatable CPU or zone not specified on one or more nodes"
	msgNodesInOneZoneOnly    = "Nodes only ready in one zone"
	msgInsufficientEndpoints = "Insufficient number of endpoints"
	msgMinAllocationExceeds  = "Unable to allocate minimum required endpoints to each zone without exceeding overload threshold"

	// overloadThreshold is the most an endpoint may be overloaded by
	// topology-aware routing.
	overloadThreshold = 0.2
)

// TopologyAwareHintsEnabled reports whether a Service asks for
// topology-aware hints (service.kubernetes.io/topology-mode, or the
// deprecated topology-aware-hints annotation, set to Auto).
func TopologyAwareHintsEnabled(svc *corev1.Service) bool {
	v := svc.Annotations[corev1.AnnotationTopologyMode]
	if v == "" {
		v = svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	}
	return v == "Auto" || v == "auto"
}

// ZoneRatios is each zone's share of the allocatable CPU of the ready,
// non-control-plane nodes, or nil and why when that is unknown (a node
// without a zone or CPU) or there are fewer than two zones.
func ZoneRatios(nodes []*corev1.Node) (map[string]float64, string) {
	cpu := map[string]*resource.Quantity{}
	total := resource.Quantity{}
	for _, n := range nodes {
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			continue
		}
		if _, ok := n.Labels["node-role.kubernetes.io/master"]; ok {
			continue
		}
		if !nodeReady(n) {
			continue
		}
		zone := n.Labels[corev1.LabelTopologyZone]
		c := n.Status.Allocatable.Cpu()
		if zone == "" || c.IsZero() {
			return nil, msgInsufficientNodeInfo
		}
		total.Add(*c)
		if q, ok := cpu[zone]; ok {
			q.Add(*c)
		} else {
			cpu[zone] = c
		}
	}
	if total.IsZero() {
		return nil, msgInsufficientNodeInfo
	}
	if len(cpu) < 2 {
		return nil, msgNodesInOneZoneOnly
	}
	out := make(map[string]float64, len(cpu))
	for z, q := range cpu {
		out[z] = float64(q.MilliValue()) / float64(total.MilliValue())
	}
	return out, ""
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

type allocation struct {
	minimum, maximum int
	desired          float64
}

// allocations are the minimum, desired and maximum number of ready
// endpoints each zone should be hinted for, or the reason there are none.
func allocations(ratios map[string]float64, ratiosReason string, n int) (map[string]allocation, string) {
	if ratios == nil {
		if ratiosReason == "" {
			ratiosReason = msgInsufficientNodeInfo
		}
		return nil, ratiosReason
	}
	if len(ratios) > n {
		return nil, fmt.Sprintf("%s (%d endpoints, %d zones)", msgInsufficientEndpoints, n, len(ratios))
	}
	out := map[string]allocation{}
	minTotal := 0
	for z, r := range ratios {
		desired := r * float64(n)
		min := int(math.Ceil(desired * (1 / (1 + overloadThreshold))))
		out[z] = allocation{minimum: min, desired: math.Max(desired, float64(min))}
		minTotal += min
		if minTotal > n {
			return nil, fmt.Sprintf("%s (%d endpoints, %d zones)", msgMinAllocationExceeds, n, len(ratios))
		}
	}
	for z, a := range out {
		a.maximum = a.minimum + n - minTotal
		out[z] = a
	}
	return out, ""
}

// topologyHints hints the ready endpoints of each address type to zones in
// proportion to the zones' CPU: each to its own zone, then endpoints of
// zones holding more than their share are re-hinted to zones with less.
// Not-ready endpoints get no hints. It is deterministic in the endpoints, so
// unchanged endpoints keep their hints from sync to sync. It returns why
// hints are off, or "" when they are set.
func topologyHints(ratios map[string]float64, ratiosReason string, groups map[string]*group) string {
	byType := map[discovery.AddressType][]*group{}
	for _, g := range groups {
		byType[g.addressType] = append(byType[g.addressType], g)
	}
	clear := func(gs []*group) {
		for _, g := range gs {
			for id, ep := range g.endpoints {
				ep.Hints = nil
				g.endpoints[id] = ep
			}
		}
	}
	reason := ""
	types := make([]string, 0, len(byType))
	for at := range byType {
		types = append(types, string(at))
	}
	sort.Strings(types)
	for _, at := range types {
		gs := byType[discovery.AddressType(at)]
		clear(gs)
		// Ready endpoints, in a stable order.
		type ref struct {
			g  *group
			id string
		}
		var ready []ref
		for _, g := range gs {
			for id, ep := range g.endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready = append(ready, ref{g, id})
				}
			}
		}
		sort.Slice(ready, func(i, j int) bool { return ready[i].id < ready[j].id })
		allocs, why := allocations(ratios, ratiosReason, len(ready))
		if why == "" {
			for _, r := range ready {
				if z := r.g.endpoints[r.id].Zone; z == nil || *z == "" {
					why = msgNoZoneSpecified
					break
				}
			}
		}
		if why != "" {
			if reason == "" {
				reason = fmt.Sprintf("%s, addressType: %s", why, at)
			}
			continue
		}
		hinted := map[string]int{}
		hint := make([]string, len(ready))
		for i, r := range ready {
			hint[i] = *r.g.endpoints[r.id].Zone
			hinted[hint[i]]++
		}
		giving, receiving := givingAndReceiving(allocs, hinted)
		for i := range ready {
			if len(giving) == 0 || len(receiving) == 0 {
				break
			}
			from := hint[i]
			if giving[from] == 0 {
				continue
			}
			to := ""
			for _, z := range sortedKeys(receiving) {
				if receiving[z] > 0 {
					to = z
					break
				}
			}
			if to == "" {
				break
			}
			hint[i] = to
			if giving[from]--; giving[from] == 0 {
				delete(giving, from)
			}
			if receiving[to]--; receiving[to] == 0 {
				delete(receiving, to)
			}
		}
		for i, r := range ready {
			ep := r.g.endpoints[r.id]
			ep.Hints = &discovery.EndpointHints{ForZones: []discovery.ForZone{{Name: hint[i]}}}
			r.g.endpoints[r.id] = ep
		}
	}
	return reason
}

// givingAndReceiving turns the gap between allocations and the endpoints
// each zone holds into whole endpoints to give and to receive.
func givingAndReceiving(allocs map[string]allocation, hinted map[string]int) (giving, receiving map[string]int) {
	give, recv := map[string]float64{}, map[string]float64{}
	for z, a := range allocs {
		h := float64(hinted[z])
		switch {
		case h > a.desired:
			give[z] = h - a.desired
		case h < a.desired:
			recv[z] = a.desired - h
		}
	}
	giving, receiving = map[string]int{}, map[string]int{}
	for {
		gz, gn := most(give)
		rz, rn := most(recv)
		if gz == "" || rz == "" || (gn < 1 && rn < 1) || gn < 0.5 || rn < 0.5 {
			break
		}
		giving[gz]++
		give[gz]--
		receiving[rz]++
		recv[rz]--
	}
	return giving, receiving
}

func most(m map[string]float64) (string, float64) {
	zone, n := "", 0.0
	for _, z := range sortedKeys(m) {
		if m[z] > n {
			zone, n = z, m[z]
		}
	}
	return zone, n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
