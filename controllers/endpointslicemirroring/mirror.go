package endpointslicemirroring

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ControllerName is the endpointslice.kubernetes.io/managed-by value of
	// mirrored slices.
	ControllerName = "endpointslicemirroring-controller.k8s.io"
	// DefaultMaxEndpointsPerSubset is --mirroring-max-endpoints-per-subset's
	// default: at most this many addresses of one subset are mirrored.
	DefaultMaxEndpointsPerSubset = 1000
	// maxEndpointsPerSlice is the API's limit.
	maxEndpointsPerSlice = 1000
	// leaderAnnotation marks Endpoints used as leader-election locks.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// ShouldMirror reports whether ep is mirrored at all: it is not marked
// skip-mirror and not a leader-election lock.
func ShouldMirror(ep *corev1.Endpoints) bool {
	if ep.Labels[discovery.LabelSkipMirror] == "true" {
		return false
	}
	if _, ok := ep.Annotations[leaderAnnotation]; ok {
		return false
	}
	return true
}

type desiredSlice struct {
	key         string
	addressType discovery.AddressType
	ports       []discovery.EndpointPort
	endpoints   []discovery.Endpoint
	seen        map[string]bool
}

// Plan computes the slice writes that make existing (slices managed by this
// controller for ep's name) mirror ep, at most maxPerSubset addresses of
// each subset. It returns the slices to create, update and delete.
func Plan(ep *corev1.Endpoints, existing []*discovery.EndpointSlice, maxPerSubset int) (create, update, del []*discovery.EndpointSlice) {
	if maxPerSubset <= 0 {
		maxPerSubset = DefaultMaxEndpointsPerSubset
	}
	desired := map[string]*desiredSlice{}
	var order []string
	for _, subset := range ep.Subsets {
		ports := mirrorPorts(subset.Ports)
		added := 0
		add := func(addr corev1.EndpointAddress, ready bool) {
			if added >= maxPerSubset {
				return
			}
			e, at, ok := addressToEndpoint(addr, ready)
			if !ok {
				return
			}
			k := groupKey(at, ports)
			d := desired[k]
			if d == nil {
				d = &desiredSlice{key: k, addressType: at, ports: ports, seen: map[string]bool{}}
				desired[k] = d
				order = append(order, k)
			}
			if d.seen[e.Addresses[0]] || len(d.endpoints) >= maxEndpointsPerSlice {
				return
			}
			d.seen[e.Addresses[0]] = true
			d.endpoints = append(d.endpoints, e)
			added++
		}
		for _, a := range subset.Addresses {
			add(a, true)
		}
		for _, a := range subset.NotReadyAddresses {
			add(a, false)
		}
	}
	labels, annotations := sliceMeta(ep)
	byKey := map[string][]*discovery.EndpointSlice{}
	for _, s := range existing {
		if !ownedBy(s, ep) {
			del = append(del, s)
			continue
		}
		k := groupKey(s.AddressType, s.Ports)
		if desired[k] == nil {
			del = append(del, s)
			continue
		}
		byKey[k] = append(byKey[k], s)
	}
	for _, k := range order {
		d := desired[k]
		slices := byKey[k]
		sort.Slice(slices, func(i, j int) bool { return slices[i].Name < slices[j].Name })
		if len(slices) == 0 {
			create = append(create, newSlice(ep, d, labels, annotations))
			continue
		}
		s := slices[0]
		del = append(del, slices[1:]...)
		if apiequality.Semantic.DeepEqual(s.Endpoints, d.endpoints) && apiequality.Semantic.DeepEqual(s.Ports, d.ports) &&
			mapsEqual(s.Labels, labels) && mapsEqual(s.Annotations, annotations) {
			continue
		}
		u := s.DeepCopy()
		u.Endpoints = d.endpoints
		u.Ports = d.ports
		u.Labels = copyMap(labels)
		u.Annotations = copyMap(annotations)
		update = append(update, u)
	}
	return create, update, del
}

func sliceMeta(ep *corev1.Endpoints) (labels, annotations map[string]string) {
	labels = map[string]string{}
	for k, v := range ep.Labels {
		labels[k] = v
	}
	labels[discovery.LabelServiceName] = ep.Name
	labels[discovery.LabelManagedBy] = ControllerName
	annotations = map[string]string{}
	for k, v := range ep.Annotations {
		if k == corev1.EndpointsLastChangeTriggerTime || k == corev1.LastAppliedConfigAnnotation {
			continue
		}
		annotations[k] = v
	}
	return labels, annotations
}

func newSlice(ep *corev1.Endpoints, d *desiredSlice, labels, annotations map[string]string) *discovery.EndpointSlice {
	t := true
	prefix := ep.Name + "-"
	if len(prefix) > 253-5 {
		prefix = ep.Name
	}
	return &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix,
			Namespace:    ep.Namespace,
			Labels:       copyMap(labels),
			Annotations:  copyMap(annotations),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Endpoints", Name: ep.Name, UID: ep.UID,
				Controller: &t, BlockOwnerDeletion: &t,
			}},
		},
		AddressType: d.addressType,
		Ports:       d.ports,
		Endpoints:   d.endpoints,
	}
}

func ownedBy(s *discovery.EndpointSlice, ep *corev1.Endpoints) bool {
	for _, o := range s.OwnerReferences {
		if o.UID == ep.UID && o.Kind == "Endpoints" {
			return true
		}
	}
	return false
}

// addressToEndpoint converts an Endpoints address; invalid IPs are skipped.
func addressToEndpoint(a corev1.EndpointAddress, ready bool) (discovery.Endpoint, discovery.AddressType, bool) {
	ip := net.ParseIP(a.IP)
	if ip == nil {
		return discovery.Endpoint{}, "", false
	}
	at := discovery.AddressTypeIPv4
	if ip.To4() == nil {
		at = discovery.AddressTypeIPv6
	}
	r := ready
	e := discovery.Endpoint{
		Addresses:  []string{ip.String()},
		Conditions: discovery.EndpointConditions{Ready: &r},
		TargetRef:  a.TargetRef,
		NodeName:   a.NodeName,
	}
	if a.Hostname != "" {
		h := a.Hostname
		e.Hostname = &h
	}
	return e, at, true
}

func mirrorPorts(ports []corev1.EndpointPort) []discovery.EndpointPort {
	out := []discovery.EndpointPort{}
	for _, p := range ports {
		p := p
		out = append(out, discovery.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
	}
	return out
}

func groupKey(at discovery.AddressType, ports []discovery.EndpointPort) string {
	keys := make([]string, 0, len(ports))
	for _, p := range ports {
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
		keys = append(keys, fmt.Sprintf("%s/%d/%s/%s", name, port, proto, app))
	}
	sort.Strings(keys)
	return string(at) + "#" + strings.Join(keys, ";")
}

func mapsEqual(a, b map[string]string) bool {
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
