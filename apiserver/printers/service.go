package printers

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// listMax is how many entries the address and port cells of services,
// endpoints and endpoint slices show before "+ N more...".
const listMax = 3

var serviceSpecDoc = corev1.ServiceSpec{}.SwaggerDoc()

var services = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Type", Type: "string", Description: serviceSpecDoc["type"]},
	{Name: "Cluster-IP", Type: "string", Description: serviceSpecDoc["clusterIP"]},
	{Name: "External-IP", Type: "string", Description: serviceSpecDoc["externalIPs"]},
	{Name: "Port(s)", Type: "string", Description: serviceSpecDoc["ports"]},
	ageColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: serviceSpecDoc["selector"]},
}, rowsOf(func(svc *corev1.Service, now time.Time) (metav1.TableRow, error) {
	clusterIP := none
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := make([]string, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		ports[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			ports[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
	}
	return cells(svc.Name, string(svc.Spec.Type), clusterIP, serviceExternalIP(svc),
		orNone(strings.Join(ports, ",")), since(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector))
}))

// serviceExternalIP is the EXTERNAL-IP cell: the external IPs, plus for load
// balancers their ingress points ("<pending>" until there are any), and the
// external name of ExternalName services.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(strings.Join(svc.Spec.ExternalIPs, ","))
	case corev1.ServiceTypeLoadBalancer:
		ips := loadBalancerIngress(svc.Status.LoadBalancer.Ingress)
		ips = append(ips, svc.Spec.ExternalIPs...)
		if len(ips) == 0 {
			return "<pending>"
		}
		return strings.Join(ips, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return unknown
}

// loadBalancerIngress lists the distinct IPs (else hostnames) of a load
// balancer's ingress points, sorted.
func loadBalancerIngress(ingress []corev1.LoadBalancerIngress) []string {
	points := sets.New[string]()
	for _, i := range ingress {
		if i.IP != "" {
			points.Insert(i.IP)
		} else if i.Hostname != "" {
			points.Insert(i.Hostname)
		}
	}
	return sets.List(points)
}

var endpoints = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]},
	ageColumn,
}, rowsOf(func(ep *corev1.Endpoints, now time.Time) (metav1.TableRow, error) {
	return cells(ep.Name, endpointsAddresses(ep.Subsets), since(ep.CreationTimestamp, now))
}))

// endpointsAddresses lists the first addresses of the subsets as "ip:port"
// for each port (bare IPs for subsets without ports), "<none>" without
// subsets.
func endpointsAddresses(subsets []corev1.EndpointSubset) string {
	if len(subsets) == 0 {
		return none
	}
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < listMax {
			list = append(list, s)
		}
	}
	for _, ss := range subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	if count > listMax {
		return fmt.Sprintf("%s + %d more...", strings.Join(list, ","), count-listMax)
	}
	return strings.Join(list, ",")
}

var endpointSliceDoc = discoveryv1.EndpointSlice{}.SwaggerDoc()

var endpointSlices = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "AddressType", Type: "string", Description: endpointSliceDoc["addressType"]},
	{Name: "Ports", Type: "string", Description: endpointSliceDoc["ports"]},
	{Name: "Endpoints", Type: "string", Description: endpointSliceDoc["endpoints"]},
	ageColumn,
}, rowsOf(func(s *discoveryv1.EndpointSlice, now time.Time) (metav1.TableRow, error) {
	ports := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		switch {
		case p.Port != nil:
			ports[i] = strconv.Itoa(int(*p.Port))
		case p.Name != nil:
			ports[i] = *p.Name
		default:
			ports[i] = "*"
		}
	}
	var addresses []string
	for _, e := range s.Endpoints {
		addresses = append(addresses, e.Addresses...)
	}
	return cells(s.Name, string(s.AddressType), firstOf(ports, listMax), firstOf(addresses, listMax), since(s.CreationTimestamp, now))
}))
