package defaultstorageclass

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func class(name string, age time.Duration, def bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age))}}
	if def {
		sc.Annotations = map[string]string{IsDefaultAnnotation: "true"}
	}
	return sc
}

func TestAdmit(t *testing.T) {
	tests := []struct {
		name    string
		classes []*storagev1.StorageClass
		claim   *corev1.PersistentVolumeClaim
		want    *string
	}{
		{"no default", []*storagev1.StorageClass{class("a", 0, false)}, &corev1.PersistentVolumeClaim{}, nil},
		{"default applied", []*storagev1.StorageClass{class("a", 0, false), class("b", 0, true)}, &corev1.PersistentVolumeClaim{}, ptr.To("b")},
		{"newest default wins", []*storagev1.StorageClass{class("old", time.Hour, true), class("new", 0, true)}, &corev1.PersistentVolumeClaim{}, ptr.To("new")},
		{"same age: by name", []*storagev1.StorageClass{class("z", 0, true), class("m", 0, true)}, &corev1.PersistentVolumeClaim{}, ptr.To("m")},
		{"explicit empty kept", []*storagev1.StorageClass{class("b", 0, true)}, &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("")}}, ptr.To("")},
		{"beta annotation kept", []*storagev1.StorageClass{class("b", 0, true)}, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{BetaStorageClassAnnotation: "x"}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
			p := New()
			p.SetExternalKubeInformerFactory(f)
			for _, c := range tc.classes {
				if err := f.Storage().V1().StorageClasses().Informer().GetIndexer().Add(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			a := admission.NewAttributesRecord(tc.claim, nil, corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), "ns", "c",
				corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
			if err := p.Admit(context.Background(), a, nil); err != nil {
				t.Fatal(err)
			}
			if got := tc.claim.Spec.StorageClassName; ptr.Deref(got, "<nil>") != ptr.Deref(tc.want, "<nil>") {
				t.Errorf("storageClassName = %v, want %v", ptr.Deref(got, "<nil>"), ptr.Deref(tc.want, "<nil>"))
			}
		})
	}
}
