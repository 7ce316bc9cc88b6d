package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func endpoints(nodeName string, ip string) *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip, NodeName: ptr.To(nodeName)}},
			Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}},
		}},
	}
}

func TestValidateEndpointsUpdate(t *testing.T) {
	old := endpoints("node-a", "10.244.1.5")
	tests := []struct {
		name string
		e    *corev1.Endpoints
		want []vt.Want
	}{
		{name: "node name may change", e: endpoints("node-b", "10.244.1.5")},
		{name: "an IPv6 address", e: endpoints("node-a", "fd00::5")},
		{
			name: "the new addresses are validated",
			e:    endpoints("node-a", "::1"),
			want: []vt.Want{vt.Invalid("subsets[0].addresses[0].ip", "may not be in the loopback range (127.0.0.0/8, ::1/128)")},
		},
		{
			name: "the port protocol is required",
			e: func() *corev1.Endpoints {
				e := endpoints("node-a", "10.244.1.5")
				e.Subsets[0].Ports[0].Protocol = ""
				return e
			}(),
			want: []vt.Want{vt.Required("subsets[0].ports[0].protocol", "")},
		},
		{
			name: "the namespace may not change",
			e: func() *corev1.Endpoints {
				e := endpoints("node-a", "10.244.1.5")
				e.Namespace = "other"
				return e
			}(),
			want: []vt.Want{vt.Invalid("metadata.namespace", "field is immutable")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateEndpointsUpdate(tt.e, old), tt.want...)
		})
	}
}
