package printers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestStorageRows(t *testing.T) {
	def := &storagev1.StorageClass{ObjectMeta: objMeta("standard", day), Provisioner: "rancher.io/local-path",
		ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain), VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer), AllowVolumeExpansion: ptr.To(true)}
	def.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	beta := &storagev1.StorageClass{ObjectMeta: objMeta("old", day), Provisioner: "p"}
	beta.Annotations = map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}
	testRows(t, schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, []rowCase{
		{name: "default", obj: def, cells: []any{"standard (default)", "rancher.io/local-path", "Retain", "WaitForFirstConsumer", true, "24h"}},
		{name: "beta default, unset fields", obj: beta, cells: []any{"old (default)", "p", "Delete", "Immediate", false, "24h"}},
		{name: "not default", obj: &storagev1.StorageClass{ObjectMeta: objMeta("x", day), Provisioner: "p"}, cells: []any{"x", "p", "Delete", "Immediate", false, "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "storage.k8s.io", Resource: "csidrivers"}, []rowCase{
		{name: "defaults", obj: &storagev1.CSIDriver{ObjectMeta: objMeta("csi.example.com", day)}, cells: []any{"csi.example.com", true, false, false, "<unset>", false, "<none>", "24h"}},
		{
			name: "set",
			obj: &storagev1.CSIDriver{ObjectMeta: objMeta("csi.example.com", day), Spec: storagev1.CSIDriverSpec{
				AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(true), StorageCapacity: ptr.To(true), RequiresRepublish: ptr.To(true),
				TokenRequests:        []storagev1.TokenRequest{{Audience: "vault"}, {Audience: "gcp"}},
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral},
			}},
			cells: []any{"csi.example.com", false, true, true, "vault,gcp", true, "Persistent,Ephemeral", "24h"},
		},
		{name: "empty token requests", obj: &storagev1.CSIDriver{ObjectMeta: objMeta("d", day), Spec: storagev1.CSIDriverSpec{TokenRequests: []storagev1.TokenRequest{}}}, cells: []any{"d", true, false, false, "", false, "<none>", "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "storage.k8s.io", Resource: "csinodes"}, []rowCase{
		{name: "one driver", obj: &storagev1.CSINode{ObjectMeta: objMeta("node-1", day), Spec: storagev1.CSINodeSpec{Drivers: make([]storagev1.CSINodeDriver, 1)}}, cells: []any{"node-1", int64(1), "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "storage.k8s.io", Resource: "volumeattachments"}, []rowCase{
		{
			name: "attached",
			obj: &storagev1.VolumeAttachment{ObjectMeta: objMeta("csi-123", day), Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "node-1",
				Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")}}, Status: storagev1.VolumeAttachmentStatus{Attached: true}},
			cells: []any{"csi-123", "csi.example.com", "pv-1", "node-1", true, "24h"},
		},
		{name: "inline volume", obj: &storagev1.VolumeAttachment{ObjectMeta: objMeta("csi-9", day), Spec: storagev1.VolumeAttachmentSpec{Attacher: "a", NodeName: "n"}}, cells: []any{"csi-9", "a", "", "n", false, "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "storage.k8s.io", Resource: "volumeattributesclasses"}, []rowCase{
		{name: "gold", obj: &storagev1.VolumeAttributesClass{ObjectMeta: objMeta("gold", day), DriverName: "csi.example.com"}, cells: []any{"gold", "csi.example.com", "24h"}},
	})
}
