package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestNamespaceConfigMapSecretServiceAccountRows(t *testing.T) {
	testRows(t, schema.GroupResource{Resource: "namespaces"}, []rowCase{
		{name: "active", obj: &corev1.Namespace{ObjectMeta: objMeta("default", 3*day), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, cells: []any{"default", "Active", "3d"}},
		{name: "no creation time", obj: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, cells: []any{"x", "", "<unknown>"}},
	})
	testRows(t, schema.GroupResource{Resource: "configmaps"}, []rowCase{
		{name: "data and binary data", obj: &corev1.ConfigMap{ObjectMeta: objMeta("cm", 90*time.Second), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {1}}}, cells: []any{"cm", int64(3), "90s"}},
	})
	testRows(t, schema.GroupResource{Resource: "secrets"}, []rowCase{
		{name: "tls", obj: &corev1.Secret{ObjectMeta: objMeta("s", 400*day), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}, cells: []any{"s", "kubernetes.io/tls", int64(2), "400d"}},
	})
	testRows(t, schema.GroupResource{Resource: "serviceaccounts"}, []rowCase{
		{name: "default", obj: &corev1.ServiceAccount{ObjectMeta: objMeta("default", 5*time.Minute+3*time.Second)}, cells: []any{"default", "5m3s"}},
	})
}

func TestNodeRows(t *testing.T) {
	node := func(labels map[string]string, unschedulable bool, conditions []corev1.NodeCondition, info corev1.NodeSystemInfo, addresses ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{ObjectMeta: objMeta("node-1", 30*day), Spec: corev1.NodeSpec{Unschedulable: unschedulable},
			Status: corev1.NodeStatus{Conditions: conditions, NodeInfo: info, Addresses: addresses}}
		n.Labels = labels
		return n
	}
	ready := []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	info := corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian 13", KernelVersion: "6.12.0", Architecture: "arm64", ContainerRuntimeVersion: "containerd://2.1.0"}
	testRows(t, schema.GroupResource{Resource: "nodes"}, []rowCase{
		{
			name: "ready control plane",
			obj: node(map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "", "node-role.kubernetes.io/": "", "kubernetes.io/role": "master"}, false, ready, info,
				corev1.NodeAddress{Type: corev1.NodeHostName, Address: "node-1"}, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::10"}),
			cells: []any{"node-1", "Ready", "control-plane,etcd,master", "30d", "v1.37.2", "192.168.1.10", "<none>", "Debian 13", "6.12.0 (arm64)", "containerd://2.1.0"},
		},
		{
			name:  "not ready and cordoned",
			obj:   node(nil, true, []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}, corev1.NodeSystemInfo{}, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "1.2.3.4"}),
			cells: []any{"node-1", "NotReady,SchedulingDisabled", "<none>", "30d", "", "<none>", "1.2.3.4", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name:  "no ready condition",
			obj:   node(map[string]string{"kubernetes.io/role": ""}, false, nil, corev1.NodeSystemInfo{}),
			cells: []any{"node-1", "Unknown", "<none>", "30d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	})
}

func TestPersistentVolumeRows(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	pv := &corev1.PersistentVolume{
		ObjectMeta: objMeta("pv-1", day),
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &corev1.ObjectReference{Namespace: "ns", Name: "data"},
			StorageClassName:              "fast",
			VolumeAttributesClassName:     ptr.To("gold"),
			VolumeMode:                    &block,
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, Reason: "because"},
	}
	released := &corev1.PersistentVolume{ObjectMeta: objMeta("pv-2", day), Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased}}
	released.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "legacy"}
	released.DeletionTimestamp = ptr.To(ago(time.Second))
	testRows(t, schema.GroupResource{Resource: "persistentvolumes"}, []rowCase{
		{name: "bound", obj: pv, cells: []any{"pv-1", "10Gi", "RWO,RWX,RWOP", "Retain", "Bound", "ns/data", "fast", "gold", "because", "24h", "Block"}},
		{name: "terminating, beta class", obj: released, cells: []any{"pv-2", "0", "", "", "Terminating", "", "legacy", "<unset>", "", "24h", "<unset>"}},
	})
}

func TestPersistentVolumeClaimRows(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	bound := &corev1.PersistentVolumeClaim{
		ObjectMeta: objMeta("data", day),
		Spec: corev1.PersistentVolumeClaimSpec{
			VolumeName: "pv-1", StorageClassName: ptr.To("fast"), VolumeMode: &fs,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany},
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
	}
	pending := &corev1.PersistentVolumeClaim{
		ObjectMeta: objMeta("new", day),
		Spec: corev1.PersistentVolumeClaimSpec{VolumeAttributesClassName: ptr.To("gold"),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	testRows(t, schema.GroupResource{Resource: "persistentvolumeclaims"}, []rowCase{
		{name: "bound", obj: bound, cells: []any{"data", "Bound", "pv-1", "10Gi", "ROX", "fast", "<unset>", "24h", "Filesystem"}},
		{name: "pending", obj: pending, cells: []any{"new", "Pending", "", "", "", "", "gold", "24h", "<unset>"}},
	})
}

func TestReplicationControllerRows(t *testing.T) {
	rc := &corev1.ReplicationController{
		ObjectMeta: objMeta("rc", time.Hour),
		Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}},
		Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1},
	}
	testRows(t, schema.GroupResource{Resource: "replicationcontrollers"}, []rowCase{
		{name: "template", obj: rc, cells: []any{"rc", int64(3), int64(2), int64(1), "60m", "app", "nginx", "app=web"}},
		{name: "no template", obj: &corev1.ReplicationController{ObjectMeta: objMeta("rc", time.Hour)}, cells: []any{"rc", int64(0), int64(0), int64(0), "60m", "", "", "<none>"}},
	})
}

func TestResourceQuotaRows(t *testing.T) {
	q := &corev1.ResourceQuota{
		ObjectMeta: objMeta("quota", time.Hour),
		Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("4"), "limits.memory": resource.MustParse("8Gi"), "limits.cpu": resource.MustParse("8")},
			Used: corev1.ResourceList{"pods": resource.MustParse("3"), "requests.cpu": resource.MustParse("500m"), "limits.cpu": resource.MustParse("1")},
		},
	}
	testRows(t, schema.GroupResource{Resource: "resourcequotas"}, []rowCase{
		{name: "requests and limits", obj: q, cells: []any{"quota", "pods: 3/10, requests.cpu: 500m/4", "limits.cpu: 1/8, limits.memory: 0/8Gi", "60m"}},
		{name: "empty", obj: &corev1.ResourceQuota{ObjectMeta: objMeta("quota", time.Hour)}, cells: []any{"quota", "", "", "60m"}},
	})
}

func TestComponentStatusRows(t *testing.T) {
	cs := func(conditions ...corev1.ComponentCondition) *corev1.ComponentStatus {
		return &corev1.ComponentStatus{ObjectMeta: metav1.ObjectMeta{Name: "etcd-0"}, Conditions: conditions}
	}
	testRows(t, schema.GroupResource{Resource: "componentstatuses"}, []rowCase{
		{name: "healthy", obj: cs(corev1.ComponentCondition{Type: corev1.ComponentHealthy, Status: corev1.ConditionTrue, Message: "ok"}), cells: []any{"etcd-0", "Healthy", "ok", ""}},
		{name: "unhealthy", obj: cs(corev1.ComponentCondition{Type: corev1.ComponentHealthy, Status: corev1.ConditionFalse, Error: "timeout"}), cells: []any{"etcd-0", "Unhealthy", "", "timeout"}},
		{name: "unknown", obj: cs(), cells: []any{"etcd-0", "Unknown", "", ""}},
	})
}
