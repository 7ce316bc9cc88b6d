package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestServiceRows(t *testing.T) {
	svc := func(spec corev1.ServiceSpec, lb ...corev1.LoadBalancerIngress) *corev1.Service {
		return &corev1.Service{ObjectMeta: objMeta("svc", 2*time.Hour), Spec: spec, Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: lb}}}
	}
	ports := []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}
	testRows(t, schema.GroupResource{Resource: "services"}, []rowCase{
		{
			name:  "cluster IP",
			obj:   svc(corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.10", "fd00::10"}, Ports: ports, Selector: map[string]string{"app": "dns"}}),
			cells: []any{"svc", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "120m", "app=dns"},
		},
		{
			name:  "headless without ports",
			obj:   svc(corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"None"}}),
			cells: []any{"svc", "ClusterIP", "None", "<none>", "<none>", "120m", "<none>"},
		},
		{
			name:  "node port with external IPs",
			obj:   svc(corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.1.1"}, ExternalIPs: []string{"1.2.3.4", "1.2.3.5"}, Ports: []corev1.ServicePort{{Port: 443, NodePort: 30443, Protocol: corev1.ProtocolTCP}}}),
			cells: []any{"svc", "NodePort", "10.96.1.1", "1.2.3.4,1.2.3.5", "443:30443/TCP", "120m", "<none>"},
		},
		{
			name:  "pending load balancer",
			obj:   svc(corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.1.2"}, Ports: ports[:1]}),
			cells: []any{"svc", "LoadBalancer", "10.96.1.2", "<pending>", "80/TCP", "120m", "<none>"},
		},
		{
			name: "load balancer ingress, sorted and distinct, then external IPs",
			obj: svc(corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.1.2"}, ExternalIPs: []string{"9.9.9.9"}},
				corev1.LoadBalancerIngress{Hostname: "lb.example.com"}, corev1.LoadBalancerIngress{IP: "5.6.7.8", Hostname: "ignored"}, corev1.LoadBalancerIngress{IP: "5.6.7.8"}),
			cells: []any{"svc", "LoadBalancer", "10.96.1.2", "5.6.7.8,lb.example.com,9.9.9.9", "<none>", "120m", "<none>"},
		},
		{
			name:  "external name",
			obj:   svc(corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}),
			cells: []any{"svc", "ExternalName", "<none>", "db.example.com", "<none>", "120m", "<none>"},
		},
		{
			name:  "no type",
			obj:   svc(corev1.ServiceSpec{}),
			cells: []any{"svc", "", "<none>", "<unknown>", "<none>", "120m", "<none>"},
		},
	})
}

func TestEndpointsRows(t *testing.T) {
	addresses := func(ips ...string) []corev1.EndpointAddress {
		var as []corev1.EndpointAddress
		for _, ip := range ips {
			as = append(as, corev1.EndpointAddress{IP: ip})
		}
		return as
	}
	ep := func(subsets ...corev1.EndpointSubset) *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: objMeta("ep", time.Minute), Subsets: subsets}
	}
	testRows(t, schema.GroupResource{Resource: "endpoints"}, []rowCase{
		{name: "no subsets", obj: ep(), cells: []any{"ep", "<none>", "60s"}},
		{name: "subset without addresses", obj: ep(corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 80}}}), cells: []any{"ep", "", "60s"}},
		{
			name:  "ports",
			obj:   ep(corev1.EndpointSubset{Addresses: addresses("10.0.0.1", "fd00::1"), Ports: []corev1.EndpointPort{{Port: 8080}}}),
			cells: []any{"ep", "10.0.0.1:8080,[fd00::1]:8080", "60s"},
		},
		{
			name:  "headless without ports",
			obj:   ep(corev1.EndpointSubset{Addresses: addresses("10.0.0.1", "10.0.0.2")}),
			cells: []any{"ep", "10.0.0.1,10.0.0.2", "60s"},
		},
		{
			name: "more than three",
			obj: ep(corev1.EndpointSubset{Addresses: addresses("10.0.0.1", "10.0.0.2"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}},
				corev1.EndpointSubset{Addresses: addresses("10.0.0.3")}),
			cells: []any{"ep", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...", "60s"},
		},
	})
}

func TestEndpointSliceRows(t *testing.T) {
	slice := func(ports []discoveryv1.EndpointPort, addresses ...[]string) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-abc", time.Hour), AddressType: discoveryv1.AddressTypeIPv4, Ports: ports}
		for _, a := range addresses {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: a})
		}
		return s
	}
	testRows(t, schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, []rowCase{
		{name: "empty", obj: slice(nil), cells: []any{"web-abc", "IPv4", "<unset>", "<unset>", "60m"}},
		{
			name:  "ports by number, name or any",
			obj:   slice([]discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}, {Name: ptr.To("https")}, {}}, []string{"10.0.0.1"}, []string{"10.0.0.2"}),
			cells: []any{"web-abc", "IPv4", "80,https,*", "10.0.0.1,10.0.0.2", "60m"},
		},
		{
			name:  "more than three",
			obj:   slice([]discoveryv1.EndpointPort{{Port: ptr.To[int32](1)}, {Port: ptr.To[int32](2)}, {Port: ptr.To[int32](3)}, {Port: ptr.To[int32](4)}}, []string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.3", "10.0.0.4", "10.0.0.5"}),
			cells: []any{"web-abc", "IPv4", "1,2,3 + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "60m"},
		},
	})
}
