// Package networking declares networking.k8s.io/v1: Ingresses (with
// status), IngressClasses, NetworkPolicies, and the ServiceCIDRs and
// IPAddresses that Service ClusterIP allocation records itself in.
package networking

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	networkingvalidation "github.com/skiff-dev/skiff/apiserver/validation/networking"
)

// Resources returns the networking.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := networkingv1.SchemeGroupVersion
	table := func(r string) rest.TableConvertor { return tables(networkingv1.Resource(r)) }
	return []registry.Resource{
		&registry.Definition[*networkingv1.Ingress]{
			GroupVersion: gv, Resource: "ingresses", Singular: "ingress", Kind: "Ingress", Namespaced: true,
			ShortNames:     []string{"ing"},
			Validate:       networkingvalidation.ValidateIngress,
			ValidateUpdate: networkingvalidation.ValidateIngressUpdate,
			New:            func() *networkingv1.Ingress { return &networkingv1.Ingress{} },
			NewList:        func() runtime.Object { return &networkingv1.IngressList{} },
			Generation:     true,
			Status:         &registry.Status[*networkingv1.Ingress]{ValidateUpdate: networkingvalidation.ValidateIngressStatusUpdate},
			TableConvertor: table("ingresses"),
		},
		&registry.Definition[*networkingv1.IngressClass]{
			GroupVersion: gv, Resource: "ingressclasses", Singular: "ingressclass", Kind: "IngressClass",
			Validate:       networkingvalidation.ValidateIngressClass,
			ValidateUpdate: networkingvalidation.ValidateIngressClassUpdate,
			New:            func() *networkingv1.IngressClass { return &networkingv1.IngressClass{} },
			NewList:        func() runtime.Object { return &networkingv1.IngressClassList{} },
			Generation:     true,
			TableConvertor: table("ingressclasses"),
		},
		&registry.Definition[*networkingv1.NetworkPolicy]{
			GroupVersion: gv, Resource: "networkpolicies", Singular: "networkpolicy", Kind: "NetworkPolicy", Namespaced: true,
			ShortNames:     []string{"netpol"},
			Validate:       networkingvalidation.ValidateNetworkPolicy,
			ValidateUpdate: networkingvalidation.ValidateNetworkPolicyUpdate,
			New:            func() *networkingv1.NetworkPolicy { return &networkingv1.NetworkPolicy{} },
			NewList:        func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
			Generation:     true,
			TableConvertor: table("networkpolicies"),
		},
		&registry.Definition[*networkingv1.ServiceCIDR]{
			GroupVersion: gv, Resource: "servicecidrs", Singular: "servicecidr", Kind: "ServiceCIDR",
			Validate:       networkingvalidation.ValidateServiceCIDR,
			ValidateUpdate: networkingvalidation.ValidateServiceCIDRUpdate,
			New:            func() *networkingv1.ServiceCIDR { return &networkingv1.ServiceCIDR{} },
			NewList:        func() runtime.Object { return &networkingv1.ServiceCIDRList{} },
			Status:         &registry.Status[*networkingv1.ServiceCIDR]{ValidateUpdate: networkingvalidation.ValidateServiceCIDRStatusUpdate},
			TableConvertor: table("servicecidrs"),
		},
		&registry.Definition[*networkingv1.IPAddress]{
			GroupVersion: gv, Resource: "ipaddresses", Singular: "ipaddress", Kind: "IPAddress",
			ShortNames:     []string{"ip"},
			Validate:       networkingvalidation.ValidateIPAddress,
			ValidateUpdate: networkingvalidation.ValidateIPAddressUpdate,
			New:            func() *networkingv1.IPAddress { return &networkingv1.IPAddress{} },
			NewList:        func() runtime.Object { return &networkingv1.IPAddressList{} },
			TableConvertor: table("ipaddresses"),
		},
	}
}
