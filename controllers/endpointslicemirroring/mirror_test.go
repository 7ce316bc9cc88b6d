package endpointslicemirroring

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func endpoints(subsets ...corev1.EndpointSubset) *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns", UID: "ep-uid", Labels: map[string]string{"a": "b"},
			Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: "x", "keep": "me"}},
		Subsets: subsets,
	}
}

func addrs(ips ...string) []corev1.EndpointAddress {
	var out []corev1.EndpointAddress
	for _, ip := range ips {
		out = append(out, corev1.EndpointAddress{IP: ip})
	}
	return out
}

var httpPort = []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}

func named(slices []*discovery.EndpointSlice) []*discovery.EndpointSlice {
	for i, s := range slices {
		if s.Name == "" {
			s.Name = fmt.Sprintf("ext-%d", i)
			s.UID = types.UID(s.Name)
		}
	}
	return slices
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name                string
		before, after       *corev1.Endpoints
		max                 int
		create, update, del int
		wantEndpoints       map[discovery.AddressType]int
	}{
		{name: "one subset", after: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1", "10.0.0.2"), NotReadyAddresses: addrs("10.0.0.3"), Ports: httpPort}),
			create: 1, wantEndpoints: map[discovery.AddressType]int{discovery.AddressTypeIPv4: 3}},
		{name: "mixed families split", after: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1", "fd00::1", "bogus"), Ports: httpPort}),
			create: 2, wantEndpoints: map[discovery.AddressType]int{discovery.AddressTypeIPv4: 1, discovery.AddressTypeIPv6: 1}},
		{name: "capped per subset", max: 2, after: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3"), Ports: httpPort}),
			create: 1, wantEndpoints: map[discovery.AddressType]int{discovery.AddressTypeIPv4: 2}},
		{name: "unchanged", before: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: httpPort}),
			after: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: httpPort}), wantEndpoints: map[discovery.AddressType]int{discovery.AddressTypeIPv4: 1}},
		{name: "address added: update in place", before: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: httpPort}),
			after: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: httpPort}), update: 1, wantEndpoints: map[discovery.AddressType]int{discovery.AddressTypeIPv4: 2}},
		{name: "ports changed: replace", before: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: httpPort}),
			after: endpoints(corev1.EndpointSubset{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Name: "x", Port: 81, Protocol: corev1.ProtocolTCP}}}), create: 1, del: 1,
			wantEndpoints: map[discovery.AddressType]int{discovery.AddressTypeIPv4: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var existing []*discovery.EndpointSlice
			if tc.before != nil {
				c, _, _ := Plan(tc.before, nil, tc.max)
				existing = named(c)
			}
			c, u, d := Plan(tc.after, existing, tc.max)
			if len(c) != tc.create || len(u) != tc.update || len(d) != tc.del {
				t.Fatalf("create/update/delete %d/%d/%d, want %d/%d/%d", len(c), len(u), len(d), tc.create, tc.update, tc.del)
			}
			final := map[string]*discovery.EndpointSlice{}
			for _, s := range existing {
				final[s.Name] = s
			}
			for _, s := range u {
				final[s.Name] = s
			}
			for _, s := range d {
				delete(final, s.Name)
			}
			for _, s := range named(c) {
				final[s.Name] = s
			}
			got := map[discovery.AddressType]int{}
			for _, s := range final {
				got[s.AddressType] += len(s.Endpoints)
				if s.Labels[discovery.LabelManagedBy] != ControllerName || s.Labels[discovery.LabelServiceName] != "ext" || s.Labels["a"] != "b" {
					t.Errorf("labels %v", s.Labels)
				}
				if _, ok := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok || s.Annotations["keep"] != "me" {
					t.Errorf("annotations %v", s.Annotations)
				}
				if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Endpoints" {
					t.Errorf("owners %v", s.OwnerReferences)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantEndpoints) {
				t.Errorf("endpoints per type %v, want %v", got, tc.wantEndpoints)
			}
		})
	}
}

func TestShouldMirror(t *testing.T) {
	tests := []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		want        bool
	}{
		{name: "plain", want: true},
		{name: "skip-mirror", labels: map[string]string{discovery.LabelSkipMirror: "true"}},
		{name: "leader lock", annotations: map[string]string{leaderAnnotation: "{}"}},
	}
	for _, tc := range tests {
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels, Annotations: tc.annotations}}
		if got := ShouldMirror(ep); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
