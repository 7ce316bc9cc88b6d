package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func TestDiscoveryDefaults(t *testing.T) {
	tcp, udp := ptr.To(corev1.ProtocolTCP), ptr.To(corev1.ProtocolUDP)
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "endpoint slice ports get an empty name and TCP",
			obj:  &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{}, {Name: ptr.To("dns"), Protocol: udp}}},
			want: &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Name: ptr.To(""), Protocol: tcp}, {Name: ptr.To("dns"), Protocol: udp}}},
		},
		{
			name: "endpoint slice list items",
			obj:  &discoveryv1.EndpointSliceList{Items: []discoveryv1.EndpointSlice{{Ports: []discoveryv1.EndpointPort{{}}}}},
			want: &discoveryv1.EndpointSliceList{Items: []discoveryv1.EndpointSlice{{Ports: []discoveryv1.EndpointPort{{Name: ptr.To(""), Protocol: tcp}}}}},
		},
	}
	runDefaultsTests(t, tests)
}
