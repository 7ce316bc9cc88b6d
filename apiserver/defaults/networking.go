package defaults

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addNetworkingDefaults registers upstream's defaults for networking.k8s.io/v1:
// NetworkPolicy and IngressClass and their lists (Ingress, ServiceCIDR and
// IPAddress have none).
func addNetworkingDefaults(s *runtime.Scheme) {
	addKindAndListDefaults(s, defaultNetworkPolicy, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
	addKindAndListDefaults(s, defaultIngressClass, func(l *networkingv1.IngressClassList) []networkingv1.IngressClass { return l.Items })
}

// defaultNetworkPolicy sets policyTypes, when empty, to Ingress, and Egress
// too if the policy has egress rules; and each port's protocol to TCP.
func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	spec := &np.Spec
	if len(spec.PolicyTypes) == 0 {
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) != 0 {
			spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range spec.Ingress {
		defaultNetworkPolicyPorts(spec.Ingress[i].Ports)
	}
	for i := range spec.Egress {
		defaultNetworkPolicyPorts(spec.Egress[i].Ports)
	}
}

func defaultNetworkPolicyPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
}

// defaultIngressClass scopes parameters that name no scope to the cluster.
func defaultIngressClass(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil && p.Scope == nil {
		scope := networkingv1.IngressClassParametersReferenceScopeCluster
		p.Scope = &scope
	}
}
