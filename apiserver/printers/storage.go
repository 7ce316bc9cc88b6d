package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The annotations that make a StorageClass the default one.
const (
	defaultStorageClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

var storageClassDoc = storagev1.StorageClass{}.SwaggerDoc()

var storageClasses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Provisioner", Type: "string", Description: storageClassDoc["provisioner"]},
	{Name: "ReclaimPolicy", Type: "string", Description: storageClassDoc["reclaimPolicy"]},
	{Name: "VolumeBindingMode", Type: "string", Description: storageClassDoc["volumeBindingMode"]},
	{Name: "AllowVolumeExpansion", Type: "string", Description: storageClassDoc["allowVolumeExpansion"]},
	ageColumn,
}, rowsOf(func(sc *storagev1.StorageClass, now time.Time) (metav1.TableRow, error) {
	name := sc.Name
	if sc.Annotations[defaultStorageClassAnnotation] == "true" || sc.Annotations[betaDefaultStorageClassAnnotation] == "true" {
		name += " (default)"
	}
	return cells(name, sc.Provisioner,
		string(ptr.Deref(sc.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)),
		string(ptr.Deref(sc.VolumeBindingMode, storagev1.VolumeBindingImmediate)),
		ptr.Deref(sc.AllowVolumeExpansion, false), since(sc.CreationTimestamp, now))
}))

var csiDriverSpecDoc = storagev1.CSIDriverSpec{}.SwaggerDoc()

var csiDrivers = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "AttachRequired", Type: "boolean", Description: csiDriverSpecDoc["attachRequired"]},
	{Name: "PodInfoOnMount", Type: "boolean", Description: csiDriverSpecDoc["podInfoOnMount"]},
	{Name: "StorageCapacity", Type: "boolean", Description: csiDriverSpecDoc["storageCapacity"]},
	{Name: "TokenRequests", Type: "string", Description: csiDriverSpecDoc["tokenRequests"]},
	{Name: "RequiresRepublish", Type: "boolean", Description: csiDriverSpecDoc["requiresRepublish"]},
	{Name: "Modes", Type: "string", Description: csiDriverSpecDoc["volumeLifecycleModes"]},
	ageColumn,
}, rowsOf(func(d *storagev1.CSIDriver, now time.Time) (metav1.TableRow, error) {
	tokenRequests := unset
	if d.Spec.TokenRequests != nil {
		audiences := make([]string, len(d.Spec.TokenRequests))
		for i, t := range d.Spec.TokenRequests {
			audiences[i] = t.Audience
		}
		tokenRequests = strings.Join(audiences, ",")
	}
	modes := make([]string, len(d.Spec.VolumeLifecycleModes))
	for i, m := range d.Spec.VolumeLifecycleModes {
		modes[i] = string(m)
	}
	return cells(d.Name, ptr.Deref(d.Spec.AttachRequired, true), ptr.Deref(d.Spec.PodInfoOnMount, false),
		ptr.Deref(d.Spec.StorageCapacity, false), tokenRequests, ptr.Deref(d.Spec.RequiresRepublish, false),
		orNone(strings.Join(modes, ",")), since(d.CreationTimestamp, now))
}))

var csiNodes = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
	ageColumn,
}, rowsOf(func(n *storagev1.CSINode, now time.Time) (metav1.TableRow, error) {
	return cells(n.Name, int64(len(n.Spec.Drivers)), since(n.CreationTimestamp, now))
}))

var volumeAttachmentSpecDoc = storagev1.VolumeAttachmentSpec{}.SwaggerDoc()

var volumeAttachments = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Attacher", Type: "string", Format: "name", Description: volumeAttachmentSpecDoc["attacher"]},
	{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
	{Name: "Node", Type: "string", Description: volumeAttachmentSpecDoc["nodeName"]},
	{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
	ageColumn,
}, rowsOf(func(va *storagev1.VolumeAttachment, now time.Time) (metav1.TableRow, error) {
	return cells(va.Name, va.Spec.Attacher, ptr.Deref(va.Spec.Source.PersistentVolumeName, ""), va.Spec.NodeName,
		va.Status.Attached, since(va.CreationTimestamp, now))
}))

var volumeAttributesClasses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "DriverName", Type: "string", Description: storagev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]},
	ageColumn,
}, rowsOf(func(c *storagev1.VolumeAttributesClass, now time.Time) (metav1.TableRow, error) {
	return cells(c.Name, c.DriverName, since(c.CreationTimestamp, now))
}))
