package scheme

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestInternalIsExternal(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		gv   schema.GroupVersion
	}{
		{name: "configmap", obj: &corev1.ConfigMap{}, gv: corev1.SchemeGroupVersion},
		{name: "role", obj: &rbacv1.Role{}, gv: rbacv1.SchemeGroupVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gvks, _, err := Scheme.ObjectKinds(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			var sawInternal, sawExternal bool
			for _, gvk := range gvks {
				switch gvk.Version {
				case runtime.APIVersionInternal:
					sawInternal = true
				case tt.gv.Version:
					sawExternal = true
				}
			}
			if !sawInternal || !sawExternal {
				t.Fatalf("ObjectKinds = %v, want both %s and __internal", gvks, tt.gv)
			}
			internal, err := Scheme.ConvertToVersion(tt.obj, schema.GroupVersion{Group: tt.gv.Group, Version: runtime.APIVersionInternal})
			if err != nil {
				t.Fatalf("convert to internal: %v", err)
			}
			if _, err := Scheme.ConvertToVersion(internal, tt.gv); err != nil {
				t.Fatalf("convert back to %s: %v", tt.gv, err)
			}
		})
	}
	if Scheme.Recognizes(schema.GroupVersionKind{Version: runtime.APIVersionInternal, Kind: "ListOptions"}) {
		t.Fatal("meta types must not be registered as __internal API types")
	}
	_ = metav1.Status{}
}
