package endpointslice

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/controllers/internal/endpointutil"
)

const (
	// ControllerName is the endpointslice.kubernetes.io/managed-by value of
	// the slices this controller manages.
	ControllerName = "endpointslice-controller.k8s.io"
	// DefaultMaxEndpointsPerSlice is --max-endpoints-per-slice's default.
	DefaultMaxEndpointsPerSlice = 100
)

// Input is what Plan reconciles: a Service, the pods its selector matches,
// the zone of each node (by name; "" when unknown) and the slices that
// currently carry the Service's label and this controller's managed-by.
type Input struct {
	Service              *corev1.Service
	Pods                 []*corev1.Pod
	Zone                 func(nodeName string) string
	Existing             []*discovery.EndpointSlice
	MaxEndpointsPerSlice int
	// TriggerTime, when set, is recorded on the slices written as the
	// endpoints.kubernetes.io/last-change-trigger-time annotation.
	TriggerTime time.Time
	// ZoneRatios (and, when nil, ZoneRatiosReason) are the nodes' CPU
	// shares by zone (see ZoneRatios), for Services with topology-aware
	// hints.
	ZoneRatios       map[string]float64
	ZoneRatiosReason string
}

// Result says which slices to create (GenerateName set), update (deep
// copies of existing ones) and delete.
type Result struct {
	Create []*discovery.EndpointSlice
	Update []*discovery.EndpointSlice
	Delete []*discovery.EndpointSlice
	// TopologyHints says whether topology-aware hints were set; when they
	// were asked for and not set, TopologyHintsOff says why.
	TopologyHints    bool
	TopologyHintsOff string
}

// group is the desired endpoints of one address type and port mapping.
type group struct {
	addressType discovery.AddressType
	ports       []discovery.EndpointPort
	endpoints   map[string]discovery.Endpoint
}

// Plan computes the slice writes that make in.Existing reflect in.Pods.
func Plan(in Input) Result {
	max := in.MaxEndpointsPerSlice
	if max <= 0 {
		max = DefaultMaxEndpointsPerSlice
	}
	svc := in.Service
	desired := desiredGroups(in)
	wantLabels := sliceLabels(svc)

	var res Result
	if TopologyAwareHintsEnabled(svc) {
		res.TopologyHintsOff = topologyHints(in.ZoneRatios, in.ZoneRatiosReason, desired)
		res.TopologyHints = res.TopologyHintsOff == ""
	} else {
		applyHints(svc, desired)
	}
	existingByKey := map[string][]*discovery.EndpointSlice{}
	for _, s := range in.Existing {
		if !ownedBy(s, svc) {
			res.Delete = append(res.Delete, s)
			continue
		}
		k := groupKey(s.AddressType, s.Ports)
		existingByKey[k] = append(existingByKey[k], s)
	}
	keys := make([]string, 0, len(desired)+len(existingByKey))
	for k := range desired {
		keys = append(keys, k)
	}
	for k := range existingByKey {
		if _, ok := desired[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	for _, k := range keys {
		g := desired[k]
		existing := existingByKey[k]
		if g == nil {
			res.Delete = append(res.Delete, existing...)
			continue
		}
		remaining := make(map[string]discovery.Endpoint, len(g.endpoints))
		for id, ep := range g.endpoints {
			remaining[id] = ep
		}
		var toUpdate, unchanged []*discovery.EndpointSlice
		for _, s := range existing {
			changed := !labelsEqual(s.Labels, wantLabels)
			var kept []discovery.Endpoint
			for _, ep := range s.Endpoints {
				id := endpointID(ep)
				want, ok := remaining[id]
				if !ok {
					changed = true // gone, or a duplicate
					continue
				}
				delete(remaining, id)
				if !apiequality.Semantic.DeepEqual(want, ep) {
					changed = true
				}
				kept = append(kept, want)
			}
			switch {
			case len(kept) == 0:
				res.Delete = append(res.Delete, s)
			case changed:
				u := s.DeepCopy()
				u.Endpoints = kept
				toUpdate = append(toUpdate, u)
			default:
				unchanged = append(unchanged, s)
			}
		}
		left := sortedEndpoints(remaining)
		// New endpoints first fill the slices written anyway.
		for _, u := range toUpdate {
			for len(left) > 0 && len(u.Endpoints) < max {
				u.Endpoints = append(u.Endpoints, left[0])
				left = left[1:]
			}
		}
		// Then the fullest unchanged slice that takes all the rest.
		var fill *discovery.EndpointSlice
		if len(left) > 0 && len(left) < max {
			sort.SliceStable(unchanged, func(i, j int) bool { return len(unchanged[i].Endpoints) > len(unchanged[j].Endpoints) })
			for _, s := range unchanged {
				if len(s.Endpoints)+len(left) <= max {
					fill = s.DeepCopy()
					break
				}
			}
		}
		// Then new slices.
		for len(left) > 0 {
			s := fill
			fill = nil
			if s == nil {
				s = newSlice(svc, g.addressType, g.ports)
			}
			for len(left) > 0 && len(s.Endpoints) < max {
				s.Endpoints = append(s.Endpoints, left[0])
				left = left[1:]
			}
			if s.Name != "" {
				toUpdate = append(toUpdate, s)
			} else {
				res.Create = append(res.Create, s)
			}
		}
		res.Update = append(res.Update, toUpdate...)
	}

	// A Service without endpoints keeps one placeholder slice.
	if len(in.Existing) == len(res.Delete) && len(res.Create) == 0 {
		placeholder := newSlice(svc, discovery.AddressTypeIPv4, []discovery.EndpointPort{})
		if len(res.Delete) == 1 && isPlaceholder(res.Delete[0]) && ownedBy(res.Delete[0], svc) {
			kept := res.Delete[0]
			res.Delete = nil
			if !labelsEqual(kept.Labels, wantLabels) {
				u := kept.DeepCopy()
				u.Labels = wantLabels
				res.Update = append(res.Update, u)
			}
		} else {
			res.Create = append(res.Create, placeholder)
		}
	}

	// Rather than delete a slice and create another of the same address
	// type, rewrite the one being deleted.
	for i := 0; i < len(res.Delete) && len(res.Create) > 0; {
		d := res.Delete[i]
		if d.AddressType != res.Create[0].AddressType || !ownedBy(d, svc) {
			i++
			continue
		}
		u := d.DeepCopy()
		u.Ports = res.Create[0].Ports
		u.Endpoints = res.Create[0].Endpoints
		res.Create = res.Create[1:]
		res.Update = append(res.Update, u)
		res.Delete = append(res.Delete[:i], res.Delete[i+1:]...)
	}

	for _, s := range res.Update {
		s.Labels = copyMap(wantLabels)
		setTriggerTime(s, in.TriggerTime)
	}
	for _, s := range res.Create {
		setTriggerTime(s, in.TriggerTime)
	}
	return res
}

func isPlaceholder(s *discovery.EndpointSlice) bool {
	return s.AddressType == discovery.AddressTypeIPv4 && len(s.Endpoints) == 0 && len(s.Ports) == 0
}

func setTriggerTime(s *discovery.EndpointSlice, t time.Time) {
	if t.IsZero() {
		return
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.EndpointsLastChangeTriggerTime] = t.UTC().Format(time.RFC3339Nano)
}

// desiredGroups maps group keys to the endpoints the pods should have.
func desiredGroups(in Input) map[string]*group {
	svc := in.Service
	out := map[string]*group{}
	for _, fam := range addressTypes(svc) {
		for _, pod := range in.Pods {
			if !endpointutil.ShouldPodBeInEndpoints(pod, true) {
				continue
			}
			ip := endpointutil.PodIPOfFamily(pod, corev1.IPFamily(fam))
			if ip == "" {
				continue
			}
			ports := endpointPorts(svc, pod)
			k := groupKey(fam, ports)
			g, ok := out[k]
			if !ok {
				g = &group{addressType: fam, ports: ports, endpoints: map[string]discovery.Endpoint{}}
				out[k] = g
			}
			ep := podEndpoint(svc, pod, ip, in.Zone)
			g.endpoints[endpointID(ep)] = ep
		}
	}
	return out
}

// addressTypes are the slice address types a Service gets.
func addressTypes(svc *corev1.Service) []discovery.AddressType {
	var out []discovery.AddressType
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discovery.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discovery.AddressTypeIPv6)
		}
	}
	if len(out) == 0 {
		if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone && endpointutil.IsIPv6(svc.Spec.ClusterIP) {
			return []discovery.AddressType{discovery.AddressTypeIPv6}
		}
		return []discovery.AddressType{discovery.AddressTypeIPv4}
	}
	return out
}

func endpointPorts(svc *corev1.Service, pod *corev1.Pod) []discovery.EndpointPort {
	ports := []discovery.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, err := endpointutil.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, port, proto := sp.Name, int32(n), sp.Protocol
		ports = append(ports, discovery.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return ports
}

func podEndpoint(svc *corev1.Service, pod *corev1.Pod, ip string, zone func(string) string) discovery.Endpoint {
	serving := endpointutil.IsPodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discovery.Endpoint{
		Addresses: []string{ip},
		Conditions: discovery.EndpointConditions{
			Ready:       &ready,
			Serving:     &serving,
			Terminating: &terminating,
		},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		ep.NodeName = &n
		if zone != nil {
			if z := zone(n); z != "" {
				ep.Zone = &z
			}
		}
	}
	if endpointutil.ShouldSetHostname(pod, svc) {
		h := pod.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

// applyHints sets hints for the Service's trafficDistribution (topology-aware
// hints, when asked for, take precedence): PreferClose
// and PreferSameZone hint each endpoint to its own zone, PreferSameNode to
// its node and zone. Hints need every endpoint's zone; without one, no
// endpoint is hinted.
func applyHints(svc *corev1.Service, groups map[string]*group) {
	td := ""
	if svc.Spec.TrafficDistribution != nil {
		td = *svc.Spec.TrafficDistribution
	}
	switch td {
	case corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode:
	default:
		return
	}
	for _, g := range groups {
		for _, ep := range g.endpoints {
			if ep.Zone == nil || *ep.Zone == "" {
				return
			}
		}
	}
	for _, g := range groups {
		for id, ep := range g.endpoints {
			h := &discovery.EndpointHints{ForZones: []discovery.ForZone{{Name: *ep.Zone}}}
			if td == corev1.ServiceTrafficDistributionPreferSameNode && ep.NodeName != nil {
				h.ForNodes = []discovery.ForNode{{Name: *ep.NodeName}}
			}
			ep.Hints = h
			g.endpoints[id] = ep
		}
	}
}

// endpointID identifies an endpoint across syncs: its address, hostname
// and pod.
func endpointID(ep discovery.Endpoint) string {
	var b strings.Builder
	b.WriteString(strings.Join(ep.Addresses, ","))
	b.WriteByte('|')
	if ep.Hostname != nil {
		b.WriteString(*ep.Hostname)
	}
	b.WriteByte('|')
	if ep.TargetRef != nil {
		b.WriteString(ep.TargetRef.Namespace + "/" + ep.TargetRef.Name)
	}
	return b.String()
}

func sortedEndpoints(m map[string]discovery.Endpoint) []discovery.Endpoint {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]discovery.Endpoint, 0, len(ids))
	for _, id := range ids {
		out = append(out, m[id])
	}
	return out
}

// groupKey identifies an address type and a set of ports, in any order.
func groupKey(at discovery.AddressType, ports []discovery.EndpointPort) string {
	keys := make([]string, 0, len(ports))
	for _, p := range ports {
		keys = append(keys, portKey(p))
	}
	sort.Strings(keys)
	return string(at) + "#" + strings.Join(keys, ";")
}

func portKey(p discovery.EndpointPort) string {
	var name, proto, app string
	var port int32
	if p.Name != nil {
		name = *p.Name
	}
	if p.Protocol != nil {
		proto = string(*p.Protocol)
	}
	if p.AppProtocol != nil {
		app = *p.AppProtocol
	}
	if p.Port != nil {
		port = *p.Port
	}
	return fmt.Sprintf("%s/%d/%s/%s", name, port, proto, app)
}

// sliceLabels are the labels of the Service's slices: its own labels, the
// headless marker, the service name and managed-by.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		if k == discovery.LabelServiceName || k == discovery.LabelManagedBy {
			continue
		}
		out[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	} else {
		delete(out, corev1.IsHeadlessService)
	}
	out[discovery.LabelServiceName] = svc.Name
	out[discovery.LabelManagedBy] = ControllerName
	return out
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ownedBy(s *discovery.EndpointSlice, svc *corev1.Service) bool {
	for _, o := range s.OwnerReferences {
		if o.UID == svc.UID && o.Kind == "Service" && o.APIVersion == "v1" {
			return true
		}
	}
	return false
}

func newSlice(svc *corev1.Service, at discovery.AddressType, ports []discovery.EndpointPort) *discovery.EndpointSlice {
	t := true
	return &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: slicePrefix(svc.Name),
			Namespace:    svc.Namespace,
			Labels:       sliceLabels(svc),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
				Controller: &t, BlockOwnerDeletion: &t,
			}},
		},
		AddressType: at,
		Ports:       append([]discovery.EndpointPort{}, ports...),
		Endpoints:   []discovery.Endpoint{},
	}
}

// slicePrefix is the generateName of a Service's slices: "<name>-", or the
// bare name when the dash would make it too long.
func slicePrefix(name string) string {
	if len(name)+1 > 253-5 {
		return name
	}
	return name + "-"
}
