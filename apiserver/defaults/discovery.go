package defaults

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addDiscoveryDefaults registers upstream's defaults for discovery.k8s.io/v1:
// EndpointSlice and its list.
func addDiscoveryDefaults(s *runtime.Scheme) {
	addKindAndListDefaults(s, defaultEndpointSlice, func(l *discoveryv1.EndpointSliceList) []discoveryv1.EndpointSlice { return l.Items })
}

// defaultEndpointSlice gives each port the empty name and protocol TCP
// when it has none.
func defaultEndpointSlice(es *discoveryv1.EndpointSlice) {
	for i := range es.Ports {
		p := &es.Ports[i]
		if p.Name == nil {
			name := ""
			p.Name = &name
		}
		if p.Protocol == nil {
			tcp := corev1.ProtocolTCP
			p.Protocol = &tcp
		}
	}
}
