package printers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

var namespaces = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "The status of the namespace"},
	ageColumn,
}, rowsOf(func(ns *corev1.Namespace, now time.Time) (metav1.TableRow, error) {
	return cells(ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp, now))
}))

var configMaps = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
	ageColumn,
}, rowsOf(func(cm *corev1.ConfigMap, now time.Time) (metav1.TableRow, error) {
	return cells(cm.Name, int64(len(cm.Data)+len(cm.BinaryData)), since(cm.CreationTimestamp, now))
}))

var secrets = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Type", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["type"]},
	{Name: "Data", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["data"]},
	ageColumn,
}, rowsOf(func(s *corev1.Secret, now time.Time) (metav1.TableRow, error) {
	return cells(s.Name, string(s.Type), int64(len(s.Data)), since(s.CreationTimestamp, now))
}))

var serviceAccounts = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	ageColumn,
}, rowsOf(func(sa *corev1.ServiceAccount, now time.Time) (metav1.TableRow, error) {
	return cells(sa.Name, since(sa.CreationTimestamp, now))
}))

// Node role labels: node-role.kubernetes.io/<role>="" and
// kubernetes.io/role=<role>.
const (
	nodeRoleLabelPrefix = "node-role.kubernetes.io/"
	nodeRoleLabel       = "kubernetes.io/role"
)

var nodeInfoDoc = corev1.NodeSystemInfo{}.SwaggerDoc()

var nodes = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "The status of the node"},
	{Name: "Roles", Type: "string", Description: "The roles of the node"},
	ageColumn,
	{Name: "Version", Type: "string", Description: nodeInfoDoc["kubeletVersion"]},
	{Name: "Internal-IP", Type: "string", Priority: 1, Description: corev1.NodeStatus{}.SwaggerDoc()["addresses"]},
	{Name: "External-IP", Type: "string", Priority: 1, Description: corev1.NodeStatus{}.SwaggerDoc()["addresses"]},
	{Name: "OS-Image", Type: "string", Priority: 1, Description: nodeInfoDoc["osImage"]},
	{Name: "Kernel-Version", Type: "string", Priority: 1, Description: nodeInfoDoc["kernelVersion"]},
	{Name: "Container-Runtime", Type: "string", Priority: 1, Description: nodeInfoDoc["containerRuntimeVersion"]},
}, rowsOf(func(n *corev1.Node, now time.Time) (metav1.TableRow, error) {
	var status []string
	// The last Ready condition counts.
	var ready *corev1.NodeCondition
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &n.Status.Conditions[i]
		}
	}
	switch {
	case ready == nil:
		status = append(status, "Unknown")
	case ready.Status == corev1.ConditionTrue:
		status = append(status, string(corev1.NodeReady))
	default:
		status = append(status, "Not"+string(corev1.NodeReady))
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}

	roles := sets.New[string]()
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, nodeRoleLabelPrefix) && k != nodeRoleLabelPrefix:
			roles.Insert(strings.TrimPrefix(k, nodeRoleLabelPrefix))
		case k == nodeRoleLabel && v != "":
			roles.Insert(v)
		}
	}

	info := n.Status.NodeInfo
	osImage, kernel, containerRuntime := info.OSImage, info.KernelVersion, info.ContainerRuntimeVersion
	if osImage == "" {
		osImage = unknown
	}
	if kernel == "" {
		kernel = unknown
	}
	if containerRuntime == "" {
		containerRuntime = unknown
	}
	if info.Architecture != "" {
		kernel += " (" + info.Architecture + ")"
	}
	return cells(n.Name, strings.Join(status, ","), orNone(strings.Join(sets.List(roles), ",")), since(n.CreationTimestamp, now),
		info.KubeletVersion, nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP), osImage, kernel, containerRuntime)
}))

// nodeAddress is the node's first address of type t, or "<none>".
func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return none
}

var pvSpecDoc = corev1.PersistentVolumeSpec{}.SwaggerDoc()

var persistentVolumes = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Capacity", Type: "string", Description: pvSpecDoc["capacity"]},
	{Name: "Access Modes", Type: "string", Description: pvSpecDoc["accessModes"]},
	{Name: "Reclaim Policy", Type: "string", Description: pvSpecDoc["persistentVolumeReclaimPolicy"]},
	{Name: "Status", Type: "string", Description: corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]},
	{Name: "Claim", Type: "string", Description: pvSpecDoc["claimRef"]},
	{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
	{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pv"},
	{Name: "Reason", Type: "string", Description: corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]},
	ageColumn,
	{Name: "VolumeMode", Type: "string", Priority: 1, Description: pvSpecDoc["volumeMode"]},
}, rowsOf(func(pv *corev1.PersistentVolume, now time.Time) (metav1.TableRow, error) {
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	phase := pv.Status.Phase
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	return cells(pv.Name, capacity.String(), accessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		string(phase), claim, volume.GetPersistentVolumeClass(pv), ptr.Deref(pv.Spec.VolumeAttributesClassName, unset),
		pv.Status.Reason, since(pv.CreationTimestamp, now), volumeMode(pv.Spec.VolumeMode))
}))

var pvcSpecDoc = corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()

var persistentVolumeClaims = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"]},
	{Name: "Volume", Type: "string", Description: pvcSpecDoc["volumeName"]},
	{Name: "Capacity", Type: "string", Description: corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"]},
	{Name: "Access Modes", Type: "string", Description: corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"]},
	{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
	{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pvc"},
	ageColumn,
	{Name: "VolumeMode", Type: "string", Priority: 1, Description: pvcSpecDoc["volumeMode"]},
}, rowsOf(func(pvc *corev1.PersistentVolumeClaim, now time.Time) (metav1.TableRow, error) {
	phase := pvc.Status.Phase
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	// Capacity and access modes are the bound volume's.
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		modes = accessModes(pvc.Status.AccessModes)
		storage := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity = storage.String()
	}
	return cells(pvc.Name, string(phase), pvc.Spec.VolumeName, capacity, modes, volume.GetPersistentVolumeClaimClass(pvc),
		ptr.Deref(pvc.Spec.VolumeAttributesClassName, unset), since(pvc.CreationTimestamp, now), volumeMode(pvc.Spec.VolumeMode))
}))

// accessModes abbreviates access modes, always in the order RWO, ROX, RWX,
// RWOP, each once.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var short []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"},
		{corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"},
		{corev1.ReadWriteOncePod, "RWOP"},
	} {
		if slices.Contains(modes, m.mode) {
			short = append(short, m.short)
		}
	}
	return strings.Join(short, ",")
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return unset
	}
	return string(*m)
}

var replicationControllers = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]},
	{Name: "Current", Type: "integer", Description: corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]},
	{Name: "Ready", Type: "integer", Description: corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]},
	ageColumn,
	containersColumn,
	imagesColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]},
}, rowsOf(func(rc *corev1.ReplicationController, now time.Time) (metav1.TableRow, error) {
	var containers []corev1.Container
	if rc.Spec.Template != nil {
		containers = rc.Spec.Template.Spec.Containers
	}
	names, images := containerCells(containers)
	return cells(rc.Name, int64(ptr.Deref(rc.Spec.Replicas, 0)), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
		since(rc.CreationTimestamp, now), names, images, labels.FormatLabels(rc.Spec.Selector))
}))

var resourceQuotas = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Request", Type: "string", Description: "Request represents a minimum amount of cpu/memory that a container may consume."},
	{Name: "Limit", Type: "string", Description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
	ageColumn,
}, rowsOf(func(q *corev1.ResourceQuota, now time.Time) (metav1.TableRow, error) {
	// "resource: used/hard" for each hard limit, sorted by resource name;
	// the limits.* ones in the LIMIT cell.
	var requests, limits []string
	for _, name := range slices.Sorted(maps.Keys(q.Status.Hard)) {
		used, hard := q.Status.Used[name], q.Status.Hard[name]
		entry := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if strings.HasPrefix(string(name), "limits.") {
			limits = append(limits, entry)
		} else {
			requests = append(requests, entry)
		}
	}
	return cells(q.Name, strings.Join(requests, ", "), strings.Join(limits, ", "), since(q.CreationTimestamp, now))
}))

var componentStatuses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "Status of the component conditions"},
	{Name: "Message", Type: "string", Description: "Message of the component conditions"},
	{Name: "Error", Type: "string", Description: "Error of the component conditions"},
}, rowsOf(func(cs *corev1.ComponentStatus, _ time.Time) (metav1.TableRow, error) {
	for _, c := range cs.Conditions {
		if c.Type != corev1.ComponentHealthy {
			continue
		}
		status := "Unhealthy"
		if c.Status == corev1.ConditionTrue {
			status = "Healthy"
		}
		return cells(cs.Name, status, c.Message, c.Error)
	}
	return cells(cs.Name, "Unknown", "", "")
}))
