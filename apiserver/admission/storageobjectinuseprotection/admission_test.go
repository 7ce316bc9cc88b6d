package storageobjectinuseprotection

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
)

func TestAdmit(t *testing.T) {
	tests := []struct {
		name     string
		obj      runtime.Object
		resource schema.GroupVersionResource
		sub      string
		want     []string
	}{
		{"claim", &corev1.PersistentVolumeClaim{}, corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "", []string{PVCProtectionFinalizer}},
		{"volume", &corev1.PersistentVolume{}, corev1.SchemeGroupVersion.WithResource("persistentvolumes"), "", []string{PVProtectionFinalizer}},
		{"attributes class", &storagev1.VolumeAttributesClass{}, storagev1.SchemeGroupVersion.WithResource("volumeattributesclasses"), "", []string{VACProtectionFinalizer}},
		{"already protected", &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"x", PVCProtectionFinalizer}}}, corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "", []string{"x", PVCProtectionFinalizer}},
		{"status ignored", &corev1.PersistentVolumeClaim{}, corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "status", nil},
		{"pods ignored", &corev1.Pod{}, corev1.SchemeGroupVersion.WithResource("pods"), "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := admission.NewAttributesRecord(tc.obj, nil, schema.GroupVersionKind{}, "ns", "x", tc.resource, tc.sub, admission.Create, &metav1.CreateOptions{}, false, nil)
			if err := New().Admit(context.Background(), a, nil); err != nil {
				t.Fatal(err)
			}
			got := tc.obj.(metav1.Object).GetFinalizers()
			if !slices.Equal(got, tc.want) {
				t.Errorf("finalizers = %v, want %v", got, tc.want)
			}
		})
	}
}
