package metavalidation

import (
	"testing"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestValidateObjectMeta(t *testing.T) {
	tests := []struct {
		name       string
		meta       metav1.ObjectMeta
		namespaced bool
		want       []vt.Want
	}{
		{name: "namespaced", meta: metav1.ObjectMeta{Name: "a", Namespace: "ns"}, namespaced: true},
		{name: "standard finalizers", meta: metav1.ObjectMeta{Name: "a", Finalizers: []string{"kubernetes", "orphan", "example.com/mine"}}},
		{
			name:       "namespace required",
			meta:       metav1.ObjectMeta{Name: "a"},
			namespaced: true,
			want:       []vt.Want{vt.Required("metadata.namespace", "")},
		},
		{
			name: "namespace forbidden",
			meta: metav1.ObjectMeta{Name: "a", Namespace: "ns"},
			want: []vt.Want{vt.Forbidden("metadata.namespace", "not allowed on this type")},
		},
		{
			name: "unqualified finalizer",
			meta: metav1.ObjectMeta{Name: "a", Finalizers: []string{"kubernetes", "mine"}},
			want: []vt.Want{vt.Invalid("metadata.finalizers[1]", "name is neither a standard finalizer name nor is it fully qualified")},
		},
		{
			name: "name by nameFn",
			meta: metav1.ObjectMeta{Name: "Not_A_Label"},
			want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 label")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateObjectMeta(&tt.meta, tt.namespaced, apimachineryvalidation.NameIsDNSLabel), tt.want...)
		})
	}
}

func TestValidateObjectMetaUpdate(t *testing.T) {
	old := metav1.ObjectMeta{Name: "a", ResourceVersion: "1"}
	tests := []struct {
		name string
		meta metav1.ObjectMeta
		want []vt.Want
	}{
		{name: "unchanged", meta: old},
		{
			name: "renamed without resource version",
			meta: metav1.ObjectMeta{Name: "b"},
			want: []vt.Want{
				vt.Invalid("metadata.resourceVersion", "must be specified for an update"),
				vt.Invalid("metadata.name", "field is immutable"),
			},
		},
		{
			name: "unqualified finalizer",
			meta: metav1.ObjectMeta{Name: "a", ResourceVersion: "1", Finalizers: []string{"mine"}},
			want: []vt.Want{vt.Invalid("metadata.finalizers[0]", "neither a standard finalizer name")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateObjectMetaUpdate(&tt.meta, &old), tt.want...)
		})
	}
}

func TestValidateFinalizerName(t *testing.T) {
	path := field.NewPath("spec", "finalizers")
	tests := []struct {
		name string
		want []vt.Want
	}{
		{name: "kubernetes"},
		{name: "example.com/cleanup"},
		{name: "cleanup", want: []vt.Want{vt.Invalid("spec.finalizers", "neither a standard finalizer name")}},
		{name: "a/b/c", want: []vt.Want{vt.Invalid("spec.finalizers", "a valid label key must consist of")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateFinalizerName(tt.name, path), tt.want...)
		})
	}
}
