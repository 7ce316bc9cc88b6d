package defaultingressclass

import (
	"context"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func class(name string, age time.Duration, def string) *networkingv1.IngressClass {
	c := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age))}}
	if def != "" {
		c.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: def}
	}
	return c
}

func TestAdmit(t *testing.T) {
	tests := []struct {
		name        string
		classes     []*networkingv1.IngressClass
		ingress     *networkingv1.Ingress
		subresource string
		op          admission.Operation
		want        *string
	}{
		{name: "no default", classes: []*networkingv1.IngressClass{class("a", 0, "")}, ingress: &networkingv1.Ingress{}},
		{name: "annotation not true", classes: []*networkingv1.IngressClass{class("a", 0, "yes")}, ingress: &networkingv1.Ingress{}},
		{name: "default applied", classes: []*networkingv1.IngressClass{class("a", 0, ""), class("b", 0, "true")}, ingress: &networkingv1.Ingress{}, want: ptr.To("b")},
		{name: "newest default wins", classes: []*networkingv1.IngressClass{class("old", time.Hour, "true"), class("new", 0, "true")}, ingress: &networkingv1.Ingress{}, want: ptr.To("new")},
		{name: "same age: by name", classes: []*networkingv1.IngressClass{class("z", 0, "true"), class("m", 0, "true")}, ingress: &networkingv1.Ingress{}, want: ptr.To("m")},
		{name: "explicit class kept", classes: []*networkingv1.IngressClass{class("b", 0, "true")},
			ingress: &networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("mine")}}, want: ptr.To("mine")},
		{name: "class annotation kept", classes: []*networkingv1.IngressClass{class("b", 0, "true")},
			ingress: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{networkingv1beta1.AnnotationIngressClass: "nginx"}}}},
		{name: "status subresource untouched", classes: []*networkingv1.IngressClass{class("b", 0, "true")}, ingress: &networkingv1.Ingress{}, subresource: "status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
			p := New()
			p.SetExternalKubeInformerFactory(f)
			for _, c := range tc.classes {
				if err := f.Networking().V1().IngressClasses().Informer().GetIndexer().Add(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			a := admission.NewAttributesRecord(tc.ingress, nil, networkingv1.SchemeGroupVersion.WithKind("Ingress"), "ns", "i",
				networkingv1.SchemeGroupVersion.WithResource("ingresses"), tc.subresource, admission.Create, &metav1.CreateOptions{}, false, nil)
			if err := p.Admit(context.Background(), a, nil); err != nil {
				t.Fatal(err)
			}
			if got := tc.ingress.Spec.IngressClassName; ptr.Deref(got, "<nil>") != ptr.Deref(tc.want, "<nil>") {
				t.Errorf("ingressClassName = %v, want %v", ptr.Deref(got, "<nil>"), ptr.Deref(tc.want, "<nil>"))
			}
		})
	}
	if New().Handles(admission.Update) {
		t.Error("plugin handles updates; upstream's defaults on create only")
	}
}
