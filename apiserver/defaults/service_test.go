package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func quantities(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestClusterCoreDefaults(t *testing.T) {
	cluster := ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
	vip := ptr.To(corev1.LoadBalancerIPModeVIP)
	fs := ptr.To(corev1.PersistentVolumeFilesystem)
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "service: type, affinity, ports and internal policy",
			obj:  &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}}}},
			want: &corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: cluster,
				Ports: []corev1.ServicePort{
					{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)},
					{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")},
				},
			}},
		},
		{
			name: "service: ClientIP affinity gets a timeout, None drops its config",
			obj: &corev1.ServiceList{Items: []corev1.Service{
				{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityClientIP}},
				{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinityConfig: &corev1.SessionAffinityConfig{}}},
			}},
			want: &corev1.ServiceList{Items: []corev1.Service{
				{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityClientIP,
					SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](10800)}}}},
				{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityNone}},
			}},
		},
		{
			name: "service: LoadBalancer policies, node ports and ingress IP mode",
			obj: &corev1.Service{
				Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {Hostname: "lb"}}}},
			},
			want: &corev1.Service{
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: cluster,
					ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster, AllocateLoadBalancerNodePorts: ptr.To(true),
				},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1", IPMode: vip}, {Hostname: "lb"}}}},
			},
		},
		{
			name: "service: ClusterIP with external IPs gets an external policy",
			obj:  &corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.9"}, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal}},
			want: &corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: cluster,
				ExternalIPs: []string{"192.0.2.9"}, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			}},
		},
		{
			name: "endpoints: port protocol",
			obj:  &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}},
			want: &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}},
		},
		{
			name: "node: podCIDRs from podCIDR, allocatable from capacity, rounded",
			obj: &corev1.Node{
				Spec:   corev1.NodeSpec{PodCIDR: "10.244.1.0/24"},
				Status: corev1.NodeStatus{Capacity: quantities("cpu", "0.0001", "memory", "1Gi")},
			},
			want: &corev1.Node{
				Spec:   corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}},
				Status: corev1.NodeStatus{Capacity: quantities("cpu", "1m", "memory", "1Gi"), Allocatable: quantities("cpu", "1m", "memory", "1Gi")},
			},
		},
		{
			name: "node: podCIDRs win over podCIDR, allocatable kept",
			obj: &corev1.NodeList{Items: []corev1.Node{{
				Spec:   corev1.NodeSpec{PodCIDR: "10.0.0.0/24", PodCIDRs: []string{"10.244.1.0/24", "fd00::/64"}},
				Status: corev1.NodeStatus{Capacity: quantities("pods", "110"), Allocatable: quantities("pods", "100")},
			}}},
			want: &corev1.NodeList{Items: []corev1.Node{{
				Spec:   corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24", "fd00::/64"}},
				Status: corev1.NodeStatus{Capacity: quantities("pods", "110"), Allocatable: quantities("pods", "100")},
			}}},
		},
		{
			name: "persistent volume: phase, reclaim policy, volume mode, source defaults",
			obj: &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{
				Capacity:               quantities("storage", "1.5"),
				PersistentVolumeSource: corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{RBDImage: "img"}},
			}},
			want: &corev1.PersistentVolume{
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      quantities("storage", "1500m"),
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					VolumeMode:                    fs,
					PersistentVolumeSource: corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{
						RBDImage: "img", RBDPool: "rbd", RadosUser: "admin", Keyring: "/etc/ceph/keyring",
					}},
				},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
			},
		},
		{
			name: "persistent volume: hostPath, iSCSI, Azure disk and ScaleIO sources",
			obj: &corev1.PersistentVolumeList{Items: []corev1.PersistentVolume{
				{Spec: corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete, PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}}},
				{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{}}}},
				{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{}}}},
				{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{ScaleIO: &corev1.ScaleIOPersistentVolumeSource{}}}},
			}},
			want: &corev1.PersistentVolumeList{Items: []corev1.PersistentVolume{
				{
					Spec:   corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete, VolumeMode: fs, PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data", Type: ptr.To(corev1.HostPathUnset)}}},
					Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
				},
				{
					Spec:   corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, VolumeMode: fs, PersistentVolumeSource: corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{ISCSIInterface: "default"}}},
					Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
				},
				{
					Spec: corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, VolumeMode: fs, PersistentVolumeSource: corev1.PersistentVolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{
						CachingMode: ptr.To(corev1.AzureDataDiskCachingReadWrite), FSType: ptr.To("ext4"), ReadOnly: ptr.To(false), Kind: ptr.To(corev1.AzureSharedBlobDisk),
					}}},
					Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
				},
				{
					Spec:   corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, VolumeMode: fs, PersistentVolumeSource: corev1.PersistentVolumeSource{ScaleIO: &corev1.ScaleIOPersistentVolumeSource{StorageMode: "ThinProvisioned", FSType: "xfs"}}},
					Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
				},
			}},
		},
		{
			name: "persistent volume claim: phase, volume mode, rounding",
			obj: &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
				Resources: corev1.VolumeResourceRequirements{Requests: quantities("storage", "0.0005")},
			}},
			want: &corev1.PersistentVolumeClaim{
				Spec:   corev1.PersistentVolumeClaimSpec{VolumeMode: fs, Resources: corev1.VolumeResourceRequirements{Requests: quantities("storage", "1m")}},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
			},
		},
		{
			name: "persistent volume claim: set fields are kept",
			obj: &corev1.PersistentVolumeClaimList{Items: []corev1.PersistentVolumeClaim{{
				Spec:   corev1.PersistentVolumeClaimSpec{VolumeMode: ptr.To(corev1.PersistentVolumeBlock)},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
			}}},
			want: &corev1.PersistentVolumeClaimList{Items: []corev1.PersistentVolumeClaim{{
				Spec:   corev1.PersistentVolumeClaimSpec{VolumeMode: ptr.To(corev1.PersistentVolumeBlock)},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
			}}},
		},
		{
			name: "resource quota: rounding only",
			obj:  &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: quantities("cpu", "0.0001")}, Status: corev1.ResourceQuotaStatus{Used: quantities("cpu", "0.0002")}},
			want: &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: quantities("cpu", "1m")}, Status: corev1.ResourceQuotaStatus{Used: quantities("cpu", "1m")}},
		},
		{
			name: "limit range: container defaults from max, default and min",
			obj: &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer, Max: quantities("cpu", "2", "memory", "1Gi"), Min: quantities("ephemeral-storage", "1Gi"), Default: quantities("memory", "512Mi")},
				{Type: corev1.LimitTypePod, Max: quantities("cpu", "0.0001")},
			}}},
			want: &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
				{
					Type: corev1.LimitTypeContainer, Max: quantities("cpu", "2", "memory", "1Gi"), Min: quantities("ephemeral-storage", "1Gi"),
					Default:        quantities("cpu", "2", "memory", "512Mi"),
					DefaultRequest: quantities("cpu", "2", "memory", "512Mi", "ephemeral-storage", "1Gi"),
				},
				{Type: corev1.LimitTypePod, Max: quantities("cpu", "1m")},
			}}},
		},
	}
	runDefaultsTests(t, tests)
}

// runDefaultsTests defaults each obj with the package's scheme and
// compares it with want.
func runDefaultsTests(t *testing.T, tests []struct {
	name      string
	obj, want runtime.Object
}) {
	t.Helper()
	s := schemeWithDefaults(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Default(tt.obj)
			if diff := cmp.Diff(tt.want, tt.obj); diff != "" {
				t.Errorf("defaulted object differs (-want +got):\n%s", diff)
			}
		})
	}
}
