package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// csiPV returns a valid, defaulted CSI PersistentVolume with node affinity
// on the beta zone label, changed by tweaks.
func csiPV(tweaks ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "vol-1"},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelFailureDomainBetaZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}},
			}}}},
		},
	}
	for _, tweak := range tweaks {
		tweak(pv)
	}
	return pv
}

func TestValidatePersistentVolumeUpdate(t *testing.T) {
	tests := []struct {
		name    string
		old, pv *corev1.PersistentVolume
		want    []vt.Want
	}{
		{name: "unchanged", old: csiPV(), pv: csiPV()},
		{
			name: "claim bound and capacity grown",
			old:  csiPV(),
			pv: csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
				pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("2Gi")
			}),
		},
		{
			name: "controllerExpandSecretRef added",
			old:  csiPV(),
			pv: csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.CSI.ControllerExpandSecretRef = &corev1.SecretReference{Name: "expand", Namespace: "kube-system"}
			}),
		},
		{
			name: "source changed",
			old:  csiPV(),
			pv:   csiPV(func(pv *corev1.PersistentVolume) { pv.Spec.CSI.VolumeHandle = "vol-2" }),
			want: []vt.Want{vt.Forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation")},
		},
		{
			name: "volume mode changed",
			old:  csiPV(),
			pv:   csiPV(func(pv *corev1.PersistentVolume) { pv.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }),
			want: []vt.Want{vt.Invalid("volumeMode", "field is immutable")},
		},
		{
			name: "node affinity moved from the beta to the GA zone label",
			old:  csiPV(),
			pv: csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Key = corev1.LabelTopologyZone
			}),
		},
		{
			name: "node affinity values changed",
			old:  csiPV(),
			pv: csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{"b"}
			}),
			want: []vt.Want{vt.Invalid("nodeAffinity", "field is immutable, except for updating from beta label to GA")},
		},
		{
			name: "node affinity set where there was none",
			old:  csiPV(func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = nil }),
			pv:   csiPV(),
		},
		{
			name: "invalid affinity values kept from the stored PV",
			old: csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{"not valid!"}
			}),
			pv: csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{"not valid!"}
			}),
		},
		{
			name: "volumeAttributesClassName unset",
			old:  csiPV(func(pv *corev1.PersistentVolume) { pv.Spec.VolumeAttributesClassName = ptr.To("gold") }),
			pv:   csiPV(),
			want: []vt.Want{vt.Forbidden("spec.volumeAttributesClassName", "update from non-nil value to nil is forbidden")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePersistentVolumeUpdate(tt.pv, tt.old), tt.want...)
		})
	}
}

func TestValidatePersistentVolumeSources(t *testing.T) {
	tests := []struct {
		name   string
		source corev1.PersistentVolumeSource
		want   []vt.Want
	}{
		{
			name:   "iSCSI",
			source: corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "192.0.2.1:3260", IQN: "iqn.2024-01.com.example:disk", Lun: 300, SessionCHAPAuth: true, InitiatorName: ptr.To("eui.1")}},
			want: []vt.Want{
				vt.Invalid("spec.iscsi.lun", "must be between 0 and 255, inclusive"),
				vt.Required("spec.iscsi.secretRef", ""),
				vt.Invalid("spec.iscsi.initiatorname", "must be valid format"),
			},
		},
		{
			name:   "GCE disk errors under persistentDisk",
			source: corev1.PersistentVolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{Partition: 256}},
			want: []vt.Want{
				vt.Required("spec.persistentDisk.pdName", ""),
				vt.Invalid("spec.persistentDisk.partition", "must be between 1 and 255, inclusive"),
			},
		},
		{
			name:   "CephFS errors under cephfs",
			source: corev1.PersistentVolumeSource{CephFS: &corev1.CephFSPersistentVolumeSource{}},
			want:   []vt.Want{vt.Required("spec.cephfs.monitors", "")},
		},
		{
			name: "flexVolume never conflicts",
			source: corev1.PersistentVolumeSource{
				NFS:        &corev1.NFSVolumeSource{Server: "nfs", Path: "x"},
				FlexVolume: &corev1.FlexPersistentVolumeSource{Options: map[string]string{"kubernetes.io/secret": "x"}},
			},
			want: []vt.Want{
				vt.Invalid("spec.nfs.path", "must be an absolute path"),
				vt.Required("spec.flexVolume.driver", ""),
				vt.Invalid("spec.flexVolume.options[kubernetes.io/secret]", "kubernetes.io and k8s.io namespaces are reserved"),
			},
		},
		{
			name:   "Azure managed disk with a blob URI",
			source: corev1.PersistentVolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "https://a.blob.core.windows.net/c/d.vhd", Kind: ptr.To(corev1.AzureManagedDisk)}},
			want:   []vt.Want{vt.NotSupported("spec.azureDisk.diskURI", "/subscriptions/{sub-id}")},
		},
		{
			name:   "Glusterfs with an empty endpoints namespace",
			source: corev1.PersistentVolumeSource{Glusterfs: &corev1.GlusterfsPersistentVolumeSource{EndpointsName: "gl", Path: "vol", EndpointsNamespace: ptr.To("")}},
			want:   []vt.Want{vt.Invalid("spec.glusterfs.endpointsNamespace", "if the endpointnamespace is set, it must be a valid namespace name")},
		},
		{
			name:   "no source",
			source: corev1.PersistentVolumeSource{},
			want:   []vt.Want{vt.Required("spec", "must specify a volume type")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := csiPV(func(pv *corev1.PersistentVolume) {
				pv.Spec.PersistentVolumeSource = tt.source
				pv.Spec.NodeAffinity = nil
			})
			vt.Expect(t, ValidatePersistentVolume(pv), tt.want...)
		})
	}
}

func TestValidatePersistentVolumeStatusUpdate(t *testing.T) {
	old := csiPV()
	pv := csiPV(func(pv *corev1.PersistentVolume) { pv.ResourceVersion = ""; pv.Status.Phase = corev1.VolumeBound })
	// The metadata check complains too, as upstream's does.
	vt.Expect(t, ValidatePersistentVolumeStatusUpdate(pv, old),
		vt.Required("resourceVersion", ""), vt.Invalid("metadata.resourceVersion", "must be specified for an update"))
	vt.Expect(t, ValidatePersistentVolumeStatusUpdate(csiPV(), old))
}
