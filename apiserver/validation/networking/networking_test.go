package networking

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

var meta = metav1.ObjectMeta{Name: "x", Namespace: "default", ResourceVersion: "1"}

func TestValidateServiceCIDRUpdate(t *testing.T) {
	cidr := func(cidrs ...string) *networkingv1.ServiceCIDR {
		m := *meta.DeepCopy()
		m.Namespace = ""
		return &networkingv1.ServiceCIDR{ObjectMeta: m, Spec: networkingv1.ServiceCIDRSpec{CIDRs: cidrs}}
	}
	tests := []struct {
		name     string
		old, new *networkingv1.ServiceCIDR
		want     []vt.Want
	}{
		{name: "unchanged", old: cidr("10.96.0.0/12"), new: cidr("10.96.0.0/12")},
		{name: "upgraded to dual stack", old: cidr("10.96.0.0/12"), new: cidr("10.96.0.0/12", "fd00::/112")},
		{
			name: "upgraded with a second IPv4 range",
			old:  cidr("10.96.0.0/12"),
			new:  cidr("10.96.0.0/12", "10.112.0.0/12"),
			want: []vt.Want{vt.Invalid("spec.cidrs", "may specify no more than one IP for each IP family")},
		},
		{
			name: "primary changed while upgrading",
			old:  cidr("10.96.0.0/12"),
			new:  cidr("10.112.0.0/12", "fd00::/112"),
			want: []vt.Want{vt.Invalid("spec.cidrs[0]", "field is immutable")},
		},
		{
			name: "range changed",
			old:  cidr("10.96.0.0/12", "fd00::/112"),
			new:  cidr("10.96.0.0/12", "fd01::/112"),
			want: []vt.Want{vt.Invalid("spec.cidrs[1]", "field is immutable")},
		},
		{
			name: "downgraded",
			old:  cidr("10.96.0.0/12", "fd00::/112"),
			new:  cidr("10.96.0.0/12"),
			want: []vt.Want{vt.Invalid("spec.cidrs", "field is immutable")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateServiceCIDRUpdate(tt.new, tt.old), tt.want...)
			vt.Expect(t, ValidateServiceCIDRStatusUpdate(tt.new, tt.old))
		})
	}
}

func TestValidateIPAddressUpdate(t *testing.T) {
	ip := func(parent string) *networkingv1.IPAddress {
		m := *meta.DeepCopy()
		m.Name, m.Namespace = "10.96.0.10", ""
		return &networkingv1.IPAddress{ObjectMeta: m, Spec: networkingv1.IPAddressSpec{
			ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: parent},
		}}
	}
	vt.Expect(t, ValidateIPAddressUpdate(ip("web"), ip("web")))
	vt.Expect(t, ValidateIPAddressUpdate(ip("db"), ip("web")), vt.Invalid("spec.parentRef", "field is immutable"))
}

func TestValidateIngressClassUpdate(t *testing.T) {
	class := func(controller string) *networkingv1.IngressClass {
		m := *meta.DeepCopy()
		m.Namespace = ""
		return &networkingv1.IngressClass{ObjectMeta: m, Spec: networkingv1.IngressClassSpec{Controller: controller}}
	}
	vt.Expect(t, ValidateIngressClassUpdate(class("example.com/a"), class("example.com/a")))
	vt.Expect(t, ValidateIngressClassUpdate(class("example.com/b"), class("example.com/a")), vt.Invalid("spec.controller", "field is immutable"))
	long := "example.com/" + strings.Repeat("x", 240)
	vt.Expect(t, ValidateIngressClass(class(long)), vt.TooLong("spec.controller", "may not be more than 250 bytes"))
}

func TestValidateIngressUpdate(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	ingress := func(host, service, secret string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: *meta.DeepCopy(), Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{SecretName: secret}},
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		}}
	}
	tests := []struct {
		name     string
		old, new *networkingv1.Ingress
		want     []vt.Want
	}{
		{name: "valid", old: ingress("a.example.com", "web", "tls"), new: ingress("b.example.com", "web", "tls")},
		{
			name: "DNS-label service name kept from the stored Ingress",
			old:  ingress("a.example.com", "1web", "tls"),
			new:  ingress("a.example.com", "1web", "tls"),
		},
		{
			name: "DNS-label service name is new",
			old:  ingress("a.example.com", "web", "tls"),
			new:  ingress("a.example.com", "1web", "tls"),
			want: []vt.Want{vt.Invalid("spec.rules[0].http.paths[0].backend.service.name", "a DNS-1035 label must consist of lower case alphanumeric characters")},
		},
		{
			name: "invalid secret name kept from the stored Ingress",
			old:  ingress("a.example.com", "web", "Bad_Secret"),
			new:  ingress("a.example.com", "web", "Other_Bad"),
		},
		{
			name: "invalid secret name is new",
			old:  ingress("a.example.com", "web", "tls"),
			new:  ingress("a.example.com", "web", "Bad_Secret"),
			want: []vt.Want{vt.Invalid("spec.tls[0].secretName", "a lowercase RFC 1123 subdomain must consist of")},
		},
		{
			name: "the class annotation may disagree on update",
			old:  ingress("a.example.com", "web", "tls"),
			new: func() *networkingv1.Ingress {
				i := ingress("a.example.com", "web", "tls")
				i.Annotations = map[string]string{"kubernetes.io/ingress.class": "a"}
				class := "b"
				i.Spec.IngressClassName = &class
				return i
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateIngressUpdate(tt.new, tt.old), tt.want...)
		})
	}
}

func TestValidateIngressStatusUpdate(t *testing.T) {
	old := &networkingv1.Ingress{ObjectMeta: *meta.DeepCopy()}
	ing := old.DeepCopy()
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}, {IP: "x"}, {Hostname: "192.0.2.2"}, {Hostname: "lb.example.com"}}
	vt.Expect(t, ValidateIngressStatusUpdate(ing, old),
		vt.Invalid("status.loadBalancer.ingress[1].ip", "must be a valid IP address"),
		vt.Invalid("status.loadBalancer.ingress[2].hostname", "must be a DNS name, not an IP address"))
}

func TestValidateNetworkPolicyUpdate(t *testing.T) {
	policy := func(cidr string) *networkingv1.NetworkPolicy {
		port := intstr.FromInt32(80)
		return &networkingv1.NetworkPolicy{ObjectMeta: *meta.DeepCopy(), Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}},
			}},
		}}
	}
	vt.Expect(t, ValidateNetworkPolicyUpdate(policy("10.0.0.0/8"), policy("10.0.0.0/8")))
	vt.Expect(t, ValidateNetworkPolicyUpdate(policy("10.0.0.0"), policy("10.0.0.0/8")),
		vt.Invalid("spec.egress[0].to[0].ipBlock.cidr", "must be a valid CIDR value"))
}
