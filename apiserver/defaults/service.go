package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// addClusterCoreDefaults registers upstream's defaults for the core/v1
// kinds other than pods: Service, Endpoints, Node, PersistentVolume,
// PersistentVolumeClaim, ResourceQuota and LimitRange, and their lists.
// Allocation (cluster IPs, node ports, IP families) is not defaulting: the
// services registry does it.
func addClusterCoreDefaults(s *runtime.Scheme) {
	addKindAndListDefaults(s, defaultService, func(l *corev1.ServiceList) []corev1.Service { return l.Items })
	addKindAndListDefaults(s, defaultEndpoints, func(l *corev1.EndpointsList) []corev1.Endpoints { return l.Items })
	addKindAndListDefaults(s, defaultNode, func(l *corev1.NodeList) []corev1.Node { return l.Items })
	addKindAndListDefaults(s, defaultPersistentVolume, func(l *corev1.PersistentVolumeList) []corev1.PersistentVolume { return l.Items })
	addKindAndListDefaults(s, defaultPersistentVolumeClaim, func(l *corev1.PersistentVolumeClaimList) []corev1.PersistentVolumeClaim { return l.Items })
	addKindAndListDefaults(s, defaultResourceQuota, func(l *corev1.ResourceQuotaList) []corev1.ResourceQuota { return l.Items })
	addKindAndListDefaults(s, defaultLimitRange, func(l *corev1.LimitRangeList) []corev1.LimitRange { return l.Items })
}

// addKindAndListDefaults registers fn as the defaulting function of T and of its list
// type L, whose items returns the list's elements.
func addKindAndListDefaults[T any, L any, PT interface {
	*T
	runtime.Object
}, PL interface {
	*L
	runtime.Object
}](s *runtime.Scheme, fn func(*T), items func(PL) []T) {
	s.AddTypeDefaultingFunc(PT(new(T)), func(o interface{}) { fn(o.(PT)) })
	s.AddTypeDefaultingFunc(PL(new(L)), func(o interface{}) {
		list := items(o.(PL))
		for i := range list {
			fn(&list[i])
		}
	})
}

// defaultService sets sessionAffinity None (dropping its config) or, for
// ClientIP, a default timeout; type ClusterIP; each port's protocol TCP
// and targetPort its port; externalTrafficPolicy Cluster when reachable
// from outside; internalTrafficPolicy Cluster for ClusterIP, NodePort and
// LoadBalancer; and for LoadBalancer allocateLoadBalancerNodePorts true
// and ipMode VIP on status ingress points with an IP.
func defaultService(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		if cfg := spec.SessionAffinityConfig; cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			timeout := corev1.DefaultClientIPServiceAffinitySeconds
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	externallyAccessible := spec.Type == corev1.ServiceTypeLoadBalancer || spec.Type == corev1.ServiceTypeNodePort ||
		(spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if externallyAccessible && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil {
		switch spec.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			policy := corev1.ServiceInternalTrafficPolicyCluster
			spec.InternalTrafficPolicy = &policy
		}
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			allocate := true
			spec.AllocateLoadBalancerNodePorts = &allocate
		}
		for i := range svc.Status.LoadBalancer.Ingress {
			if ing := &svc.Status.LoadBalancer.Ingress[i]; ing.IP != "" && ing.IPMode == nil {
				vip := corev1.LoadBalancerIPModeVIP
				ing.IPMode = &vip
			}
		}
	}
}

// defaultEndpoints sets each port's protocol to TCP.
func defaultEndpoints(e *corev1.Endpoints) {
	for i := range e.Subsets {
		for j := range e.Subsets[i].Ports {
			if p := &e.Subsets[i].Ports[j]; p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// defaultNode syncs spec.podCIDR with spec.podCIDRs, as upstream's
// conversion through its internal type does on every decode (podCIDRs
// wins, and is taken from podCIDR when empty); copies capacity into an
// unset allocatable; and rounds both up to milli scale.
func defaultNode(n *corev1.Node) {
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
	}
	if len(n.Spec.PodCIDRs) > 0 {
		n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
	}
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
	roundUpResourceList(n.Status.Capacity)
	roundUpResourceList(n.Status.Allocatable)
}

// defaultPersistentVolume sets phase Pending, reclaim policy Retain and
// volume mode Filesystem, rounds the capacity up to milli scale, and
// defaults the volume source: hostPath type "", and the declared defaults
// of RBD, iSCSI, Azure disk and ScaleIO volumes.
func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &fs
	}
	roundUpResourceList(pv.Spec.Capacity)
	src := &pv.Spec.PersistentVolumeSource
	if src.HostPath != nil && src.HostPath.Type == nil {
		unset := corev1.HostPathUnset
		src.HostPath.Type = &unset
	}
	if rbd := src.RBD; rbd != nil {
		setIfEmpty(&rbd.RBDPool, "rbd")
		setIfEmpty(&rbd.RadosUser, "admin")
		setIfEmpty(&rbd.Keyring, "/etc/ceph/keyring")
	}
	if src.ISCSI != nil {
		setIfEmpty(&src.ISCSI.ISCSIInterface, "default")
	}
	if a := src.AzureDisk; a != nil {
		if a.CachingMode == nil {
			m := corev1.AzureDataDiskCachingReadWrite
			a.CachingMode = &m
		}
		if a.FSType == nil {
			fs := "ext4"
			a.FSType = &fs
		}
		if a.ReadOnly == nil {
			ro := false
			a.ReadOnly = &ro
		}
		if a.Kind == nil {
			k := corev1.AzureSharedBlobDisk
			a.Kind = &k
		}
	}
	if s := src.ScaleIO; s != nil {
		setIfEmpty(&s.StorageMode, "ThinProvisioned")
		setIfEmpty(&s.FSType, "xfs")
	}
}

// defaultPersistentVolumeClaim sets phase Pending and volume mode
// Filesystem, and rounds the requested, capacity and allocated quantities
// up to milli scale.
func defaultPersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	if pvc.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		pvc.Spec.VolumeMode = &fs
	}
	roundUpResourceList(pvc.Spec.Resources.Limits)
	roundUpResourceList(pvc.Spec.Resources.Requests)
	roundUpResourceList(pvc.Status.Capacity)
	roundUpResourceList(pvc.Status.AllocatedResources)
}

// defaultResourceQuota rounds hard and used quantities up to milli scale.
func defaultResourceQuota(q *corev1.ResourceQuota) {
	roundUpResourceList(q.Spec.Hard)
	roundUpResourceList(q.Status.Hard)
	roundUpResourceList(q.Status.Used)
}

// defaultLimitRange fills each Container item's default limits from its
// max and default requests from its default limits, then its min, and
// rounds every quantity up to milli scale.
func defaultLimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		if item.Type == corev1.LimitTypeContainer {
			if item.Default == nil {
				item.Default = corev1.ResourceList{}
			}
			if item.DefaultRequest == nil {
				item.DefaultRequest = corev1.ResourceList{}
			}
			copyMissing(item.Default, item.Max)
			copyMissing(item.DefaultRequest, item.Default)
			copyMissing(item.DefaultRequest, item.Min)
		}
		for _, l := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			roundUpResourceList(l)
		}
	}
}

// copyMissing copies into dst each quantity of src that dst lacks.
func copyMissing(dst, src corev1.ResourceList) {
	for name, q := range src {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}
