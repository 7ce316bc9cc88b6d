package datasource

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// defaultAffinityTimeout is the API default of
// sessionAffinityConfig.clientIP.timeoutSeconds (3 hours).
const defaultAffinityTimeout = 10800 * time.Second

// ServiceFromKube converts a Service. ExternalName and headless Services
// become services without ClusterIPs, which the proxy leaves alone.
func ServiceFromKube(svc *corev1.Service) (tables.Service, error) {
	out := tables.Service{
		Name:                  tables.ServiceName{Namespace: svc.Namespace, Name: svc.Name},
		InternalTrafficPolicy: tables.PolicyCluster,
		ExternalTrafficPolicy: tables.PolicyCluster,
	}
	if p := svc.Spec.InternalTrafficPolicy; p != nil && *p == corev1.ServiceInternalTrafficPolicyLocal {
		out.InternalTrafficPolicy = tables.PolicyLocal
	}
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		out.ExternalTrafficPolicy = tables.PolicyLocal
		out.HealthCheckNodePort = uint16(svc.Spec.HealthCheckNodePort)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return out, nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var err error
	for _, s := range ips {
		if s == corev1.ClusterIPNone {
			return out, nil
		}
		if out.ClusterIPs, err = appendAddr(out.ClusterIPs, s, "spec.clusterIPs"); err != nil {
			return out, err
		}
	}
	for _, s := range svc.Spec.ExternalIPs {
		if out.ExternalIPs, err = appendAddr(out.ExternalIPs, s, "spec.externalIPs"); err != nil {
			return out, err
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			// An ingress in Proxy mode is reached through the load balancer,
			// so kube-proxy does not capture its address; neither do we.
			if ing.IP == "" || (ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy) {
				continue
			}
			if out.LoadBalancerIPs, err = appendAddr(out.LoadBalancerIPs, ing.IP, "status.loadBalancer.ingress.ip"); err != nil {
				return out, err
			}
		}
	}
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		out.AffinityTimeout = defaultAffinityTimeout
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			out.AffinityTimeout = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	hasNodePorts := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	for _, p := range svc.Spec.Ports {
		proto, err := protocol(p.Protocol)
		if err != nil {
			return out, fmt.Errorf("service %s/%s port %q: %w", svc.Namespace, svc.Name, p.Name, err)
		}
		sp := tables.ServicePort{Name: p.Name, Protocol: proto, Port: uint16(p.Port)}
		if hasNodePorts {
			sp.NodePort = uint16(p.NodePort)
		}
		out.Ports = append(out.Ports, sp)
	}
	return out, nil
}

// ErrNoServiceName is returned for an EndpointSlice without the
// kubernetes.io/service-name label; such a slice belongs to no Service.
var ErrNoServiceName = errors.New("no " + discoveryv1.LabelServiceName + " label")

// BackendsFromKube converts an EndpointSlice into the backends of the
// Service its label names: one backend per endpoint and port. Like
// kube-proxy it uses an endpoint's first address only, skips FQDN slices
// and ports without a number, and reads unset conditions as the API
// defines them (ready: true, serving: ready, terminating: false).
func BackendsFromKube(slice *discoveryv1.EndpointSlice) (tables.ServiceName, []tables.Backend, error) {
	svcName := slice.Labels[discoveryv1.LabelServiceName]
	if svcName == "" {
		return tables.ServiceName{}, nil, fmt.Errorf("endpointslice %s/%s: %w", slice.Namespace, slice.Name, ErrNoServiceName)
	}
	name := tables.ServiceName{Namespace: slice.Namespace, Name: svcName}
	if slice.AddressType != discoveryv1.AddressTypeIPv4 && slice.AddressType != discoveryv1.AddressTypeIPv6 {
		return name, nil, nil
	}
	var out []tables.Backend
	for _, p := range slice.Ports {
		if p.Port == nil {
			continue
		}
		proto := tables.TCP
		if p.Protocol != nil {
			var err error
			if proto, err = protocol(*p.Protocol); err != nil {
				return name, nil, fmt.Errorf("endpointslice %s/%s: %w", slice.Namespace, slice.Name, err)
			}
		}
		portName := ""
		if p.Name != nil {
			portName = *p.Name
		}
		for _, ep := range slice.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			addr, err := netip.ParseAddr(ep.Addresses[0])
			if err != nil || addr.Is4() != (slice.AddressType == discoveryv1.AddressTypeIPv4) {
				return name, nil, fmt.Errorf("endpointslice %s/%s: address %q is not %s", slice.Namespace, slice.Name, ep.Addresses[0], slice.AddressType)
			}
			b := tables.Backend{
				Addr:     netip.AddrPortFrom(addr, uint16(*p.Port)),
				Protocol: proto,
				PortName: portName,
				Ready:    ep.Conditions.Ready == nil || *ep.Conditions.Ready,
			}
			b.Serving = b.Ready
			if ep.Conditions.Serving != nil {
				b.Serving = *ep.Conditions.Serving
			}
			b.Terminating = ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
			if ep.NodeName != nil {
				b.NodeName = *ep.NodeName
			}
			if ep.Zone != nil {
				b.Zone = *ep.Zone
			}
			if ep.Hints != nil {
				for _, z := range ep.Hints.ForZones {
					b.ForZones = append(b.ForZones, z.Name)
				}
				for _, n := range ep.Hints.ForNodes {
					b.ForNodes = append(b.ForNodes, n.Name)
				}
			}
			out = append(out, b)
		}
	}
	return name, out, nil
}

func appendAddr(list []netip.Addr, s, field string) ([]netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return list, fmt.Errorf("%s: %w", field, err)
	}
	return append(list, a.Unmap()), nil
}

func protocol(p corev1.Protocol) (tables.Protocol, error) {
	switch p {
	case corev1.ProtocolTCP, "":
		return tables.TCP, nil
	case corev1.ProtocolUDP:
		return tables.UDP, nil
	case corev1.ProtocolSCTP:
		return tables.SCTP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q", p)
}
