package printers

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestIngressRows(t *testing.T) {
	rules := func(hosts ...string) []networkingv1.IngressRule {
		var rs []networkingv1.IngressRule
		for _, h := range hosts {
			rs = append(rs, networkingv1.IngressRule{Host: h})
		}
		return rs
	}
	ing := func(class *string, rs []networkingv1.IngressRule, tls bool, lb ...networkingv1.IngressLoadBalancerIngress) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: objMeta("web", day), Spec: networkingv1.IngressSpec{IngressClassName: class, Rules: rs},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: lb}}}
		if tls {
			i.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}}
		}
		return i
	}
	testRows(t, schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, []rowCase{
		{name: "catch-all", obj: ing(nil, rules(""), false), cells: []any{"web", "<none>", "*", "", "80", "24h"}},
		{
			name:  "hosts, tls and address",
			obj:   ing(ptr.To("nginx"), rules("a.example.com", "b.example.com"), true, networkingv1.IngressLoadBalancerIngress{Hostname: "lb.example.com"}, networkingv1.IngressLoadBalancerIngress{IP: "1.2.3.4"}),
			cells: []any{"web", "nginx", "a.example.com,b.example.com", "1.2.3.4,lb.example.com", "80, 443", "24h"},
		},
		{
			name:  "more hosts than three, empty ones skipped",
			obj:   ing(nil, rules("", "a", "b", "c", "d"), false),
			cells: []any{"web", "<none>", "a,b,c + 2 more...", "", "80", "24h"},
		},
		{
			name:  "exactly three hosts",
			obj:   ing(nil, rules("a", "b", "", "c"), false),
			cells: []any{"web", "<none>", "a,b,c", "", "80", "24h"},
		},
	})
}

func TestIngressClassNetworkPolicyServiceCIDRIPAddressRows(t *testing.T) {
	def := &networkingv1.IngressClass{ObjectMeta: objMeta("nginx", day), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
		Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("k8s.example.com"), Kind: "IngressParameters", Name: "external"}}}
	def.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
	testRows(t, schema.GroupResource{Group: "networking.k8s.io", Resource: "ingressclasses"}, []rowCase{
		{name: "default with parameters", obj: def, cells: []any{"nginx (default)", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external", "24h"}},
		{
			name:  "core parameters",
			obj:   &networkingv1.IngressClass{ObjectMeta: objMeta("c", day), Spec: networkingv1.IngressClassSpec{Controller: "x", Parameters: &networkingv1.IngressClassParametersReference{Kind: "ConfigMap", Name: "cfg"}}},
			cells: []any{"c", "x", "ConfigMap/cfg", "24h"},
		},
		{name: "no parameters", obj: &networkingv1.IngressClass{ObjectMeta: objMeta("c", day), Spec: networkingv1.IngressClassSpec{Controller: "x"}}, cells: []any{"c", "x", "<none>", "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, []rowCase{
		{name: "selector", obj: &networkingv1.NetworkPolicy{ObjectMeta: objMeta("np", day), Spec: networkingv1.NetworkPolicySpec{PodSelector: *webSelector}}, cells: []any{"np", "app=web", "24h"}},
		{name: "all pods", obj: &networkingv1.NetworkPolicy{ObjectMeta: objMeta("np", day)}, cells: []any{"np", "<none>", "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "networking.k8s.io", Resource: "servicecidrs"}, []rowCase{
		{name: "dual stack", obj: &networkingv1.ServiceCIDR{ObjectMeta: objMeta("kubernetes", day), Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16", "fd00:10:96::/112"}}}, cells: []any{"kubernetes", "10.96.0.0/16,fd00:10:96::/112", "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "networking.k8s.io", Resource: "ipaddresses"}, []rowCase{
		{
			name:  "service",
			obj:   &networkingv1.IPAddress{ObjectMeta: objMeta("10.96.0.1", day), Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "kubernetes"}}},
			cells: []any{"10.96.0.1", "services/default/kubernetes", "24h"},
		},
		{
			name:  "cluster-scoped parent in a group",
			obj:   &networkingv1.IPAddress{ObjectMeta: objMeta("10.0.0.9", day), Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Group: "Example.COM", Resource: "Gateways", Name: "gw"}}},
			cells: []any{"10.0.0.9", "gateways.example.com/gw", "24h"},
		},
		{name: "no parent", obj: &networkingv1.IPAddress{ObjectMeta: objMeta("10.0.0.8", day)}, cells: []any{"10.0.0.8", "<none>", "24h"}},
	})
}
