package registry

import (
	"context"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func namespaceDef() *Definition[*corev1.Namespace] {
	return &Definition[*corev1.Namespace]{
		GroupVersion: corev1.SchemeGroupVersion, Resource: "namespaces", Kind: "Namespace",
		New:        func() *corev1.Namespace { return &corev1.Namespace{} },
		NewList:    func() runtime.Object { return &corev1.NamespaceList{} },
		Status:     &Status[*corev1.Namespace]{},
		Generation: true,
	}
}

func TestMainResourceIgnoresStatusAndBumpsGeneration(t *testing.T) {
	tests := []struct {
		name           string
		change         func(ns *corev1.Namespace)
		wantGeneration int64
		wantPhase      corev1.NamespacePhase
	}{
		{name: "no change", change: func(*corev1.Namespace) {}, wantGeneration: 3, wantPhase: corev1.NamespaceActive},
		{name: "status change ignored", change: func(ns *corev1.Namespace) { ns.Status.Phase = corev1.NamespaceTerminating }, wantGeneration: 3, wantPhase: corev1.NamespaceActive},
		{name: "spec change bumps", change: func(ns *corev1.Namespace) { ns.Spec.Finalizers = []corev1.FinalizerName{"x"} }, wantGeneration: 4, wantPhase: corev1.NamespaceActive},
		{name: "label change does not bump", change: func(ns *corev1.Namespace) { ns.Labels = map[string]string{"a": "b"} }, wantGeneration: 3, wantPhase: corev1.NamespaceActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStrategy(namespaceDef(), nil)
			old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Generation: 3}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
			obj := old.DeepCopy()
			tt.change(obj)
			st.PrepareForUpdate(context.Background(), obj, old)
			if obj.Generation != tt.wantGeneration {
				t.Errorf("generation = %d, want %d", obj.Generation, tt.wantGeneration)
			}
			if obj.Status.Phase != tt.wantPhase {
				t.Errorf("phase = %q, want %q", obj.Status.Phase, tt.wantPhase)
			}
		})
	}
}

func TestCreateClearsStatusAndStartsGeneration(t *testing.T) {
	st := newStrategy(namespaceDef(), nil)
	obj := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	st.PrepareForCreate(context.Background(), obj)
	if obj.Status.Phase != "" || obj.Generation != 1 {
		t.Fatalf("after create: phase %q generation %d, want empty and 1", obj.Status.Phase, obj.Generation)
	}
}

func TestStatusSubresourceKeepsSpecAndMetadata(t *testing.T) {
	def := namespaceDef()
	ss := statusStrategy[*corev1.Namespace]{strategy: newStrategy(def, nil), status: def.Status}
	old := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"keep": "me"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
	}
	obj := old.DeepCopy()
	obj.Labels = map[string]string{"changed": "yes"}
	obj.Spec.Finalizers = nil
	obj.Status.Phase = corev1.NamespaceTerminating
	ss.PrepareForUpdate(context.Background(), obj, old)
	if obj.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("status not written: %q", obj.Status.Phase)
	}
	if len(obj.Spec.Finalizers) != 1 || obj.Labels["keep"] != "me" || obj.Labels["changed"] != "" {
		t.Errorf("spec or labels changed through /status: %+v %+v", obj.Spec, obj.Labels)
	}
}

func TestSpecEqualCoversNonSpecFields(t *testing.T) {
	// Webhook configurations have no spec: their webhooks list is what bumps
	// generation.
	a := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a", TimeoutSeconds: ptr.To[int32](5)}}}
	b := a.DeepCopy()
	if !specEqual(a, b) {
		t.Fatal("equal objects reported different")
	}
	b.Webhooks[0].TimeoutSeconds = ptr.To[int32](6)
	if specEqual(a, b) {
		t.Fatal("changed webhooks reported equal")
	}
}
