package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func TestNetworkingDefaults(t *testing.T) {
	tcp, udp := ptr.To(corev1.ProtocolTCP), ptr.To(corev1.ProtocolUDP)
	cluster := ptr.To(networkingv1.IngressClassParametersReferenceScopeCluster)
	namespace := ptr.To(networkingv1.IngressClassParametersReferenceScopeNamespace)
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "network policy without egress is an ingress policy",
			obj:  &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{}}}}}},
			want: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: tcp}}}},
			}},
		},
		{
			name: "network policy with egress covers both",
			obj:  &networkingv1.NetworkPolicyList{Items: []networkingv1.NetworkPolicy{{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: udp}}}}}}}},
			want: &networkingv1.NetworkPolicyList{Items: []networkingv1.NetworkPolicy{{Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: udp}}}},
			}}}},
		},
		{
			name: "network policy types are kept",
			obj:  &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}},
			want: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}},
		},
		{
			name: "ingress class parameters default to the cluster scope",
			obj: &networkingv1.IngressClassList{Items: []networkingv1.IngressClass{
				{Spec: networkingv1.IngressClassSpec{Parameters: &networkingv1.IngressClassParametersReference{Kind: "P"}}},
				{Spec: networkingv1.IngressClassSpec{Parameters: &networkingv1.IngressClassParametersReference{Kind: "P", Scope: namespace}}},
				{Spec: networkingv1.IngressClassSpec{Controller: "example.com/c"}},
			}},
			want: &networkingv1.IngressClassList{Items: []networkingv1.IngressClass{
				{Spec: networkingv1.IngressClassSpec{Parameters: &networkingv1.IngressClassParametersReference{Kind: "P", Scope: cluster}}},
				{Spec: networkingv1.IngressClassSpec{Parameters: &networkingv1.IngressClassParametersReference{Kind: "P", Scope: namespace}}},
				{Spec: networkingv1.IngressClassSpec{Controller: "example.com/c"}},
			}},
		},
		{
			name: "ingress has no defaults",
			obj:  &networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("x")}},
			want: &networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("x")}},
		},
	}
	runDefaultsTests(t, tests)
}
