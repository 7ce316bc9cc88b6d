package endpointutil

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// IsPodReady reports whether pod's Ready condition is True.
func IsPodReady(pod *corev1.Pod) bool {
	c := PodReadyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

// PodReadyCondition is pod's Ready condition, or nil.
func PodReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodTerminal reports whether pod has Succeeded or Failed.
func IsPodTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// ShouldPodBeInEndpoints reports whether pod may back a Service at all: it
// is not terminal, has an IP and, unless includeTerminating, is not being
// deleted.
func ShouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if IsPodTerminal(pod) {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	return true
}

// ShouldSetHostname reports whether pod's hostname belongs in svc's
// endpoints: the pod names a hostname and svc as its subdomain.
func ShouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && svc.Namespace == pod.Namespace
}

// PodIPs are pod's IPs, from status.podIPs or, failing that, status.podIP.
func PodIPs(pod *corev1.Pod) []string {
	if len(pod.Status.PodIPs) > 0 {
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return ips
	}
	if pod.Status.PodIP != "" {
		return []string{pod.Status.PodIP}
	}
	return nil
}

// IsIPv6 reports whether ip parses as an IPv6 (not IPv4) address.
func IsIPv6(ip string) bool {
	p := net.ParseIP(ip)
	return p != nil && p.To4() == nil
}

// PodIPOfFamily is pod's IP of the given family, or "".
func PodIPOfFamily(pod *corev1.Pod, family corev1.IPFamily) string {
	for _, ip := range PodIPs(pod) {
		if net.ParseIP(ip) == nil {
			continue
		}
		if IsIPv6(ip) == (family == corev1.IPv6Protocol) {
			return ip
		}
	}
	return ""
}

// FindPort resolves a Service port's targetPort on pod: a number is taken
// as is, a name is looked up among the pod's container ports of the
// Service port's protocol.
func FindPort(pod *corev1.Pod, svcPort *corev1.ServicePort) (int, error) {
	port := svcPort.TargetPort
	switch port.Type {
	case intstr.String:
		name := port.StrVal
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name && protocolOrTCP(p.Protocol) == protocolOrTCP(svcPort.Protocol) {
					return int(p.ContainerPort), nil
				}
			}
		}
		for _, c := range pod.Spec.InitContainers {
			// Sidecars (restartable init containers) serve too.
			if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				continue
			}
			for _, p := range c.Ports {
				if p.Name == name && protocolOrTCP(p.Protocol) == protocolOrTCP(svcPort.Protocol) {
					return int(p.ContainerPort), nil
				}
			}
		}
	case intstr.Int:
		if port.IntVal == 0 {
			// Defaulting sets targetPort to port; tolerate objects that
			// skipped it.
			return int(svcPort.Port), nil
		}
		return port.IntValue(), nil
	}
	return 0, fmt.Errorf("no suitable port for manifest: %s", pod.UID)
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
