package printers

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestAdmissionRows(t *testing.T) {
	const group = "admissionregistration.k8s.io"
	testRows(t, schema.GroupResource{Group: group, Resource: "validatingwebhookconfigurations"}, []rowCase{
		{name: "two webhooks", obj: &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: objMeta("v", day), Webhooks: make([]admissionregistrationv1.ValidatingWebhook, 2)}, cells: []any{"v", int64(2), "24h"}},
	})
	testRows(t, schema.GroupResource{Group: group, Resource: "mutatingwebhookconfigurations"}, []rowCase{
		{name: "none", obj: &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: objMeta("m", day)}, cells: []any{"m", int64(0), "24h"}},
	})
	testRows(t, schema.GroupResource{Group: group, Resource: "validatingadmissionpolicies"}, []rowCase{
		{
			name: "param kind",
			obj: &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: objMeta("p", day), Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				ParamKind:   &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
				Validations: make([]admissionregistrationv1.Validation, 3),
			}},
			cells: []any{"p", int64(3), "v1/ConfigMap", "24h"},
		},
		{name: "no param kind", obj: &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: objMeta("p", day)}, cells: []any{"p", int64(0), "<unset>", "24h"}},
	})
	testRows(t, schema.GroupResource{Group: group, Resource: "mutatingadmissionpolicies"}, []rowCase{
		{
			name: "mutations",
			obj: &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: objMeta("p", day), Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
				ParamKind: &admissionregistrationv1.ParamKind{APIVersion: "example.com/v1", Kind: "Config"},
				Mutations: make([]admissionregistrationv1.Mutation, 1),
			}},
			cells: []any{"p", int64(1), "example.com/v1/Config", "24h"},
		},
	})
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
	refs := []struct {
		name string
		ref  *admissionregistrationv1.ParamRef
		want string
	}{
		{name: "no param", ref: nil, want: "<unset>"},
		{name: "namespaced name", ref: &admissionregistrationv1.ParamRef{Name: "cfg", Namespace: "kube-system"}, want: "kube-system/cfg"},
		{name: "name only", ref: &admissionregistrationv1.ParamRef{Name: "cfg"}, want: "*/cfg"},
		{name: "selector", ref: &admissionregistrationv1.ParamRef{Selector: selector}, want: selector.String()},
		{name: "empty ref", ref: &admissionregistrationv1.ParamRef{}, want: "<unset>"},
	}
	var validating, mutating []rowCase
	for _, r := range refs {
		validating = append(validating, rowCase{
			name:  r.name,
			obj:   &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: objMeta("b", day), Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p", ParamRef: r.ref}},
			cells: []any{"b", "p", r.want, "24h"},
		})
		var mref *admissionregistrationv1.ParamRef
		if r.ref != nil {
			mref = &admissionregistrationv1.ParamRef{Name: r.ref.Name, Namespace: r.ref.Namespace, Selector: r.ref.Selector}
		}
		mutating = append(mutating, rowCase{
			name:  r.name,
			obj:   &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: objMeta("b", day), Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "p", ParamRef: mref}},
			cells: []any{"b", "p", r.want, "24h"},
		})
	}
	testRows(t, schema.GroupResource{Group: group, Resource: "validatingadmissionpolicybindings"}, validating)
	testRows(t, schema.GroupResource{Group: group, Resource: "mutatingadmissionpolicybindings"}, mutating)
}
