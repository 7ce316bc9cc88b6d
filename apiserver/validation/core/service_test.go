package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// service returns a valid, defaulted ClusterIP Service with one port,
// changed by tweaks.
func service(tweaks ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, tweak := range tweaks {
		tweak(s)
	}
	return s
}

func withClusterIPs(ips ...string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Spec.ClusterIP, s.Spec.ClusterIPs = ips[0], ips
	}
}

func withFamilies(policy corev1.IPFamilyPolicy, families ...corev1.IPFamily) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &policy, families
	}
}

func loadBalancer(s *corev1.Service) {
	s.Spec.Type = corev1.ServiceTypeLoadBalancer
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	s.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
}

func TestValidateService(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		want []vt.Want
	}{
		{name: "valid before allocation", svc: service()},
		{name: "valid LoadBalancer before allocation", svc: service(loadBalancer)},
		{
			name: "valid after allocation, dual stack",
			svc:  service(withClusterIPs("10.96.0.1", "fd00::1"), withFamilies(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol)),
		},
		{
			name: "undefaulted fields are required",
			svc: service(loadBalancer, func(s *corev1.Service) {
				s.Spec.SessionAffinity = ""
				s.Spec.ExternalTrafficPolicy = ""
				s.Spec.AllocateLoadBalancerNodePorts = nil
				s.Spec.InternalTrafficPolicy = nil
				s.Spec.Ports[0].Protocol = ""
			}),
			want: []vt.Want{
				vt.Required("spec.sessionAffinity", ""),
				vt.Required("spec.externalTrafficPolicy", ""),
				vt.Required("allocateLoadBalancerNodePorts", ""),
				vt.Required("spec.internalTrafficPolicy", ""),
				vt.Required("spec.ports[0].protocol", ""),
			},
		},
		{
			name: "type is required",
			svc:  service(func(s *corev1.Service) { s.Spec.Type = "" }),
			want: []vt.Want{vt.Required("spec.type", "")},
		},
		{
			name: "unknown type",
			svc:  service(func(s *corev1.Service) { s.Spec.Type = "Mesh" }),
			want: []vt.Want{vt.NotSupported("spec.type", `supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`)},
		},
		{
			name: "LoadBalancer with the Local policy needs its health check port allocated",
			svc:  service(loadBalancer, func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }),
			want: []vt.Want{vt.Required("spec.healthCheckNodePort", "")},
		},
		{
			name: "health check port out of range",
			svc: service(loadBalancer, func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
				s.Spec.HealthCheckNodePort = 70000
			}),
			want: []vt.Want{vt.Invalid("spec.healthCheckNodePort", "must be between 1 and 65535, inclusive")},
		},
		{
			name: "clusterIP without clusterIPs",
			svc:  service(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.1" }),
			want: []vt.Want{vt.Required("spec.clusterIPs", "")},
		},
		{
			name: "clusterIPs without clusterIP",
			svc:  service(func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.1"} }),
			want: []vt.Want{vt.Invalid("spec.clusterIPs", "must be empty when `clusterIP` is not specified")},
		},
		{
			name: "None with another IP",
			svc:  service(withClusterIPs("None", "10.96.0.1")),
			want: []vt.Want{vt.Invalid("spec.clusterIPs", "'None' must be the first and only value")},
		},
		{
			name: "sessionAffinityConfig with affinity None",
			svc: service(func(s *corev1.Service) {
				s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{}
			}),
			want: []vt.Want{vt.Forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")},
		},
		{
			name: "ClientIP affinity without a config",
			svc:  service(func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }),
			want: []vt.Want{vt.Required("spec.sessionAffinityConfig", "when session affinity type is ClientIP")},
		},
		{
			name: "ClientIP affinity without a timeout",
			svc: service(func(s *corev1.Service) {
				s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{}}
			}),
			want: []vt.Want{vt.Required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "when session affinity type is ClientIP")},
		},
		{
			name: "externally reachable ClusterIP Service takes a traffic policy",
			svc: service(func(s *corev1.Service) {
				s.Spec.ExternalIPs = []string{"192.0.2.10"}
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			}),
		},
		{
			name: "headless Service with families of any kind",
			svc:  service(withClusterIPs("None"), withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv6Protocol)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateService(tt.svc), tt.want...)
		})
	}
}

func TestValidateServiceUpdate(t *testing.T) {
	dualStack := service(withClusterIPs("10.96.0.1", "fd00::1"), withFamilies(corev1.IPFamilyPolicyPreferDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol))
	singleStack := service(withClusterIPs("10.96.0.1"), withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv4Protocol))
	tests := []struct {
		name     string
		old, svc *corev1.Service
		want     []vt.Want
	}{
		{name: "unchanged", old: dualStack, svc: dualStack.DeepCopy()},
		{
			name: "cluster IP changed",
			old:  singleStack,
			svc:  service(withClusterIPs("10.96.0.2"), withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv4Protocol)),
			want: []vt.Want{vt.Invalid("spec.clusterIPs[0]", "may not change once set")},
		},
		{
			name: "secondary IP and family added",
			old:  singleStack,
			svc:  dualStack.DeepCopy(),
		},
		{
			name: "secondary released with SingleStack",
			old:  dualStack,
			svc:  singleStack.DeepCopy(),
		},
		{
			name: "secondary released without SingleStack",
			old:  dualStack,
			svc:  service(withClusterIPs("10.96.0.1"), withFamilies(corev1.IPFamilyPolicyPreferDualStack, corev1.IPv4Protocol)),
			want: []vt.Want{
				vt.Invalid("spec.ipFamilyPolicy", "must be set to 'SingleStack' when releasing the secondary clusterIP"),
				vt.Invalid("spec.ipFamilyPolicy", "must be set to 'SingleStack' when releasing the secondary ipFamily"),
			},
		},
		{
			name: "primary released",
			old:  singleStack,
			svc:  service(withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv4Protocol)),
			want: []vt.Want{vt.Invalid("spec.clusterIPs[0]", "primary clusterIP can not be unset")},
		},
		{
			name: "family swapped",
			old:  singleStack,
			svc:  service(withClusterIPs("10.96.0.1"), withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv6Protocol)),
			want: []vt.Want{
				vt.Invalid("spec.ipFamilies[0]", "may not change once set"),
				vt.Invalid("spec.clusterIPs[0]", "expected an IPv6 value as indicated by `ipFamilies[0]`"),
			},
		},
		{
			name: "to ExternalName, cluster IPs may go",
			old:  singleStack,
			svc: service(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityNone}
			}),
		},
		{
			name: "loadBalancerClass changed",
			old:  service(loadBalancer, func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To("example.com/a") }),
			svc:  service(loadBalancer, func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To("example.com/b") }),
			want: []vt.Want{vt.Invalid("spec.loadBalancerClass", "may not change once set")},
		},
		{
			name: "healthCheckNodePort changed",
			old: service(loadBalancer, func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy, s.Spec.HealthCheckNodePort = corev1.ServiceExternalTrafficPolicyLocal, 30001
			}),
			svc: service(loadBalancer, func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy, s.Spec.HealthCheckNodePort = corev1.ServiceExternalTrafficPolicyLocal, 30002
			}),
			want: []vt.Want{vt.Forbidden("spec.healthCheckNodePort", "field is immutable")},
		},
		{
			name: "a valid object is still needed",
			old:  singleStack,
			svc:  service(withClusterIPs("10.96.0.1"), withFamilies(corev1.IPFamilyPolicySingleStack, corev1.IPv4Protocol), func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }),
			want: []vt.Want{vt.Invalid("spec.ports[0].port", "must be between 1 and 65535, inclusive")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateServiceUpdate(tt.svc, tt.old), tt.want...)
		})
	}
}

func TestValidateServiceStatusUpdate(t *testing.T) {
	vip := corev1.LoadBalancerIPModeVIP
	lb := service(loadBalancer)
	withIngress := func(base *corev1.Service, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
		s := base.DeepCopy()
		s.Status.LoadBalancer.Ingress = ingress
		return s
	}
	tests := []struct {
		name string
		svc  *corev1.Service
		want []vt.Want
	}{
		{name: "IP with mode and a hostname", svc: withIngress(lb, corev1.LoadBalancerIngress{IP: "192.0.2.1", IPMode: &vip}, corev1.LoadBalancerIngress{Hostname: "lb.example.com"})},
		{
			name: "ingress on a ClusterIP Service",
			svc:  withIngress(service(), corev1.LoadBalancerIngress{IP: "192.0.2.1", IPMode: &vip}),
			want: []vt.Want{vt.Forbidden("status.loadBalancer.ingress", "may only be used when `spec.type` is 'LoadBalancer'")},
		},
		{
			name: "IP without a mode, mode without an IP, bad mode",
			svc: withIngress(lb,
				corev1.LoadBalancerIngress{IP: "192.0.2.1"},
				corev1.LoadBalancerIngress{Hostname: "lb.example.com", IPMode: &vip},
				corev1.LoadBalancerIngress{IP: "192.0.2.2", IPMode: ptr.To(corev1.LoadBalancerIPMode("Tunnel"))}),
			want: []vt.Want{
				vt.Required("status.loadBalancer.ingress[0].ipMode", "must be specified when `ip` is set"),
				vt.Forbidden("status.loadBalancer.ingress[1].ipMode", "may not be specified when `ip` is not set"),
				vt.NotSupported("status.loadBalancer.ingress[2].ipMode", `supported values: "Proxy", "VIP"`),
			},
		},
		{
			name: "bad IP and an IP as hostname",
			svc:  withIngress(lb, corev1.LoadBalancerIngress{IP: "nope", IPMode: &vip}, corev1.LoadBalancerIngress{Hostname: "192.0.2.1"}),
			want: []vt.Want{
				vt.Invalid("status.loadBalancer.ingress[0].ip", "must be a valid IP address"),
				vt.Invalid("status.loadBalancer.ingress[1].hostname", "must be a DNS name, not an IP address"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateServiceStatusUpdate(tt.svc, lb), tt.want...)
		})
	}
}

// wantDuplicate is a Want of type FieldValueDuplicate, whose detail is
// always empty.
func wantDuplicate(path string) vt.Want {
	return vt.Want{Type: field.ErrorTypeDuplicate, Field: path}
}
