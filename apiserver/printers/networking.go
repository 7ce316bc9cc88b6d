package printers

import (
	"fmt"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

// ingressHostsMax is how many hosts the HOSTS cell shows before
// "+ N more...".
const ingressHostsMax = 3

var ingresses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
	{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
	{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
	{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
	ageColumn,
}, rowsOf(func(ing *networkingv1.Ingress, now time.Time) (metav1.TableRow, error) {
	class := none
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	ports := "80"
	if len(ing.Spec.TLS) != 0 {
		ports = "80, 443"
	}
	return cells(ing.Name, class, ingressHosts(ing.Spec.Rules), ingressAddress(ing.Status.LoadBalancer.Ingress), ports, since(ing.CreationTimestamp, now))
}))

// ingressHosts lists the first three hosts the rules name, "*" when they
// name none; when a rule follows the third host, it says "+ N more..." where
// N is the number of rules past three.
func ingressHosts(rules []networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == ingressHostsMax {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	if more {
		return fmt.Sprintf("%s + %d more...", strings.Join(hosts, ","), len(rules)-ingressHostsMax)
	}
	return strings.Join(hosts, ",")
}

// ingressAddress lists the distinct IPs (else hostnames) of an ingress's
// load balancer, sorted.
func ingressAddress(ingress []networkingv1.IngressLoadBalancerIngress) string {
	points := sets.New[string]()
	for _, i := range ingress {
		if i.IP != "" {
			points.Insert(i.IP)
		} else if i.Hostname != "" {
			points.Insert(i.Hostname)
		}
	}
	return strings.Join(sets.List(points), ",")
}

var ingressClasses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
	{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
	ageColumn,
}, rowsOf(func(c *networkingv1.IngressClass, now time.Time) (metav1.TableRow, error) {
	name := c.Name
	if c.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
		name += " (default)"
	}
	parameters := none
	if p := c.Spec.Parameters; p != nil {
		kind := p.Kind
		if p.APIGroup != nil {
			kind += "." + *p.APIGroup
		}
		parameters = kind + "/" + p.Name
	}
	return cells(name, c.Spec.Controller, parameters, since(c.CreationTimestamp, now))
}))

var networkPolicies = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
	ageColumn,
}, rowsOf(func(np *networkingv1.NetworkPolicy, now time.Time) (metav1.TableRow, error) {
	return cells(np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), since(np.CreationTimestamp, now))
}))

var serviceCIDRs = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "CIDRs", Type: "string", Description: networkingv1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"]},
	ageColumn,
}, rowsOf(func(c *networkingv1.ServiceCIDR, now time.Time) (metav1.TableRow, error) {
	return cells(c.Name, strings.Join(c.Spec.CIDRs, ","), since(c.CreationTimestamp, now))
}))

// ipAddresses has no AGE column but, as kube-apiserver's, an AGE cell: a
// trailing cell kubectl does not show.
var ipAddresses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "ParentRef", Type: "string", Description: networkingv1.IPAddressSpec{}.SwaggerDoc()["parentRef"]},
}, rowsOf(func(ip *networkingv1.IPAddress, now time.Time) (metav1.TableRow, error) {
	parent := none
	if ref := ip.Spec.ParentRef; ref != nil {
		parent = strings.ToLower(schema.GroupResource{Group: ref.Group, Resource: ref.Resource}.String())
		if ref.Namespace != "" {
			parent += "/" + ref.Namespace
		}
		parent += "/" + ref.Name
	}
	return cells(ip.Name, parent, since(ip.CreationTimestamp, now))
}))
