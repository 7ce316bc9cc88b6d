package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// claim returns a valid, defaulted claim for size, changed by tweaks.
func claim(size string, tweaks ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			VolumeMode:  ptr.To(corev1.PersistentVolumeFilesystem),
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	for _, tweak := range tweaks {
		tweak(pvc)
	}
	return pvc
}

func bound(capacity string) func(*corev1.PersistentVolumeClaim) {
	return func(pvc *corev1.PersistentVolumeClaim) {
		pvc.Spec.VolumeName = "pv-1"
		pvc.Status.Phase = corev1.ClaimBound
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}
	}
}

func TestValidatePersistentVolumeClaimUpdate(t *testing.T) {
	const immutableSpec = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
	tests := []struct {
		name     string
		old, pvc *corev1.PersistentVolumeClaim
		want     []vt.Want
	}{
		{name: "bound by the controller", old: claim("1Gi"), pvc: claim("1Gi", bound("1Gi"))},
		{
			name: "volumeName changed once bound",
			old:  claim("1Gi", bound("1Gi")),
			pvc:  claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeName = "pv-2" }),
			want: []vt.Want{vt.Forbidden("spec", immutableSpec)},
		},
		{name: "bound claim grows", old: claim("1Gi", bound("1Gi")), pvc: claim("2Gi", bound("1Gi"))},
		{
			name: "pending claim may not resize",
			old:  claim("1Gi"),
			pvc:  claim("2Gi"),
			want: []vt.Want{vt.Forbidden("spec", immutableSpec)},
		},
		{
			name: "shrinking back above the capacity after a failed expansion",
			old:  claim("3Gi", bound("1Gi")),
			pvc:  claim("2Gi", bound("1Gi")),
		},
		{
			name: "shrinking to the capacity",
			old:  claim("3Gi", bound("1Gi")),
			pvc:  claim("1Gi", bound("1Gi")),
			want: []vt.Want{vt.Forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")},
		},
		{
			name: "access modes changed",
			old:  claim("1Gi", bound("1Gi")),
			pvc: claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			}),
			want: []vt.Want{vt.Forbidden("spec", immutableSpec)},
		},
		{
			name: "volume mode changed",
			old:  claim("1Gi"),
			pvc:  claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }),
			want: []vt.Want{vt.Forbidden("spec", immutableSpec), vt.Invalid("volumeMode", "field is immutable")},
		},
		{
			name: "storage class moved from the beta annotation to the field",
			old: claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "gold"}
			}),
			pvc: claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "gold"}
				pvc.Spec.StorageClassName = ptr.To("gold")
			}),
		},
		{
			name: "storage class set where it was nil",
			old:  claim("1Gi"),
			pvc:  claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr.To("gold") }),
		},
		{
			name: "storage class changed",
			old:  claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr.To("gold") }),
			pvc:  claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr.To("silver") }),
			want: []vt.Want{vt.Forbidden("spec", immutableSpec)},
		},
		{
			name: "beta storage class annotation changed",
			old: claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "gold"}
			}),
			pvc: claim("1Gi", func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "silver"}
			}),
			want: []vt.Want{vt.Invalid("metadata.annotations.volume.beta.kubernetes.io/storage-class", "field is immutable")},
		},
		{
			name: "bound claim changes its volume attributes class",
			old:  claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = ptr.To("gold") }),
			pvc:  claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = ptr.To("silver") }),
		},
		{
			name: "volume attributes class unset",
			old:  claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = ptr.To("gold") }),
			pvc:  claim("1Gi", bound("1Gi")),
			// Only a set class is carried over for bound claims, so the
			// spec differs too.
			want: []vt.Want{vt.Forbidden("spec.volumeAttributesClassName", "update from non-nil value to nil is forbidden"), vt.Forbidden("spec", immutableSpec)},
		},
		{
			name: "volume attributes class emptied",
			old:  claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = ptr.To("gold") }),
			pvc:  claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = ptr.To("") }),
			want: []vt.Want{vt.Forbidden("spec.volumeAttributesClassName", "update from non-nil value to an empty string is forbidden")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePersistentVolumeClaimUpdate(tt.pvc, tt.old), tt.want...)
		})
	}
}

func TestValidatePersistentVolumeClaimStatusUpdate(t *testing.T) {
	old := claim("1Gi", bound("1Gi"))
	tests := []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want []vt.Want
	}{
		{
			name: "resizing",
			pvc: claim("2Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Status.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}
				pvc.Status.AllocatedResourceStatuses = map[corev1.ResourceName]corev1.ClaimResourceStatus{
					corev1.ResourceStorage: corev1.PersistentVolumeClaimControllerResizeInProgress,
				}
			}),
		},
		{
			name: "no resourceVersion, no access modes",
			pvc: claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) {
				pvc.ResourceVersion = ""
				pvc.Spec.AccessModes = nil
			}),
			want: []vt.Want{
				vt.Required("resourceVersion", ""), vt.Invalid("metadata.resourceVersion", "must be specified for an update"),
				vt.Required("Spec.accessModes", ""),
			},
		},
		{
			name: "bad allocated resources and statuses",
			pvc: claim("1Gi", bound("1Gi"), func(pvc *corev1.PersistentVolumeClaim) {
				pvc.Status.AllocatedResources = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
				pvc.Status.AllocatedResourceStatuses = map[corev1.ResourceName]corev1.ClaimResourceStatus{
					corev1.ResourceStorage: "Resizing",
				}
			}),
			want: []vt.Want{
				vt.NotSupported("status.allocatedResources", `supported values: "storage"`),
				vt.NotSupported("status.allocatedResourceStatus", `supported values: "ControllerResizeInProgress"`),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePersistentVolumeClaimStatusUpdate(tt.pvc, old), tt.want...)
		})
	}
}
