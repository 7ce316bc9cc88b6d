package persistentvolumeclaimresize

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

type claim struct {
	size      string
	class     *string
	beta      string // the beta class annotation, when not ""
	phase     corev1.PersistentVolumeClaimPhase
	noRequest bool
}

func (c claim) pvc() *corev1.PersistentVolumeClaim {
	p := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"},
		Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: c.class},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: c.phase},
	}
	if !c.noRequest {
		p.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(c.size)}
	}
	if c.beta != "" {
		p.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: c.beta}
	}
	return p
}

func TestValidate(t *testing.T) {
	bound := corev1.ClaimBound
	classes := []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "expandable"}, Provisioner: "x", AllowVolumeExpansion: ptr.To(true)},
		{ObjectMeta: metav1.ObjectMeta{Name: "fixed"}, Provisioner: "x", AllowVolumeExpansion: ptr.To(false)},
		{ObjectMeta: metav1.ObjectMeta{Name: "unset"}, Provisioner: "x"},
	}
	const notResizable = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
	tests := []struct {
		name        string
		old, new    claim
		subresource string
		wantErr     string
	}{
		{name: "grow, expandable class", old: claim{size: "1Gi", class: ptr.To("expandable"), phase: bound}, new: claim{size: "2Gi", class: ptr.To("expandable")}},
		{name: "grow, class forbids", old: claim{size: "1Gi", class: ptr.To("fixed"), phase: bound}, new: claim{size: "2Gi", class: ptr.To("fixed")}, wantErr: notResizable},
		{name: "grow, class leaves unset", old: claim{size: "1Gi", class: ptr.To("unset"), phase: bound}, new: claim{size: "2Gi", class: ptr.To("unset")}, wantErr: notResizable},
		{name: "grow, class missing", old: claim{size: "1Gi", class: ptr.To("gone"), phase: bound}, new: claim{size: "2Gi", class: ptr.To("gone")}, wantErr: notResizable},
		{name: "grow, no class", old: claim{size: "1Gi", phase: bound}, new: claim{size: "2Gi"}, wantErr: notResizable},
		{name: "grow, empty class", old: claim{size: "1Gi", class: ptr.To(""), phase: bound}, new: claim{size: "2Gi", class: ptr.To("")}, wantErr: notResizable},
		{name: "grow, class changed", old: claim{size: "1Gi", class: ptr.To("fixed"), phase: bound}, new: claim{size: "2Gi", class: ptr.To("expandable")}, wantErr: notResizable},
		{name: "grow, beta annotation names an expandable class", old: claim{size: "1Gi", beta: "expandable", class: ptr.To("fixed"), phase: bound}, new: claim{size: "2Gi", beta: "expandable", class: ptr.To("fixed")}},
		{name: "grow, beta annotation names a fixed class", old: claim{size: "1Gi", beta: "fixed", class: ptr.To("expandable"), phase: bound}, new: claim{size: "2Gi", beta: "fixed", class: ptr.To("expandable")}, wantErr: notResizable},
		{name: "grow, pending claim", old: claim{size: "1Gi", class: ptr.To("expandable"), phase: corev1.ClaimPending}, new: claim{size: "2Gi", class: ptr.To("expandable")}, wantErr: "Only bound persistent volume claims can be expanded"},
		{name: "grow from no request", old: claim{noRequest: true, class: ptr.To("fixed"), phase: bound}, new: claim{size: "1Gi", class: ptr.To("fixed")}, wantErr: notResizable},
		{name: "same size, fixed class", old: claim{size: "1Gi", class: ptr.To("fixed"), phase: bound}, new: claim{size: "1024Mi", class: ptr.To("fixed")}},
		{name: "shrink is left to validation", old: claim{size: "2Gi", class: ptr.To("fixed"), phase: bound}, new: claim{size: "1Gi", class: ptr.To("fixed")}},
		{name: "status subresource not checked", subresource: "status", old: claim{size: "1Gi", class: ptr.To("fixed"), phase: bound}, new: claim{size: "2Gi", class: ptr.To("fixed")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
			for _, c := range classes {
				if err := f.Storage().V1().StorageClasses().Informer().GetIndexer().Add(c); err != nil {
					t.Fatal(err)
				}
			}
			p := New()
			p.SetExternalKubeInformerFactory(f)
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			newPVC := tt.new.pvc()
			newPVC.Status = tt.old.pvc().Status
			err := p.Validate(context.Background(), attrs(newPVC, tt.old.pvc(), "persistentvolumeclaims", tt.subresource), nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want allowed", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: %v, want Forbidden containing %q", err, tt.wantErr)
			}
		})
	}
}

func attrs(obj, old runtime.Object, resource, subresource string) admission.Attributes {
	return admission.NewAttributesRecord(obj, old, corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), "ns", "data",
		corev1.SchemeGroupVersion.WithResource(resource), subresource, admission.Update, &metav1.UpdateOptions{}, false, nil)
}

func TestIgnoresOtherObjectsAndNeedsALister(t *testing.T) {
	p := New()
	if err := p.ValidateInitialization(); err == nil || !strings.Contains(err.Error(), "missing storageclass lister") {
		t.Errorf("ValidateInitialization without lister: %v", err)
	}
	p.SetExternalKubeInformerFactory(informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0))
	grow := claim{size: "2Gi", class: ptr.To("fixed")}.pvc()
	if err := p.Validate(context.Background(), attrs(&corev1.ConfigMap{}, &corev1.ConfigMap{}, "persistentvolumeclaims", ""), nil); err != nil {
		t.Errorf("non-PVC object: %v", err)
	}
	if err := p.Validate(context.Background(), attrs(grow, grow, "configmaps", ""), nil); err != nil {
		t.Errorf("other resource: %v", err)
	}
	for op, want := range map[admission.Operation]bool{admission.Update: true, admission.Create: false, admission.Delete: false} {
		if got := p.Handles(op); got != want {
			t.Errorf("Handles(%s) = %v, want %v", op, got, want)
		}
	}
}
