// Package admissionregistration declares admissionregistration.k8s.io/v1:
// webhook configurations, and validating and mutating admission policies
// with their bindings. The admission plugins that act on them are
// k8s.io/apiserver's.
package admissionregistration

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	v "github.com/skiff-dev/skiff/apiserver/validation/admissionregistration"
)

// Resources returns the admissionregistration.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := admissionregistrationv1.SchemeGroupVersion
	t := func(r string) rest.TableConvertor { return tables(gv.WithResource(r).GroupResource()) }
	categories := []string{"api-extensions"}
	return []registry.Resource{
		&registry.Definition[*admissionregistrationv1.ValidatingWebhookConfiguration]{
			GroupVersion: gv, Resource: "validatingwebhookconfigurations", Singular: "validatingwebhookconfiguration",
			Kind: "ValidatingWebhookConfiguration", Categories: categories, Generation: true,
			New: func() *admissionregistrationv1.ValidatingWebhookConfiguration {
				return &admissionregistrationv1.ValidatingWebhookConfiguration{}
			},
			NewList:        func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} },
			Validate:       v.ValidateValidatingWebhookConfiguration,
			ValidateUpdate: v.ValidateValidatingWebhookConfigurationUpdate,
			TableConvertor: t("validatingwebhookconfigurations"),
		},
		&registry.Definition[*admissionregistrationv1.MutatingWebhookConfiguration]{
			GroupVersion: gv, Resource: "mutatingwebhookconfigurations", Singular: "mutatingwebhookconfiguration",
			Kind: "MutatingWebhookConfiguration", Categories: categories, Generation: true,
			New: func() *admissionregistrationv1.MutatingWebhookConfiguration {
				return &admissionregistrationv1.MutatingWebhookConfiguration{}
			},
			NewList:        func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfigurationList{} },
			Validate:       v.ValidateMutatingWebhookConfiguration,
			ValidateUpdate: v.ValidateMutatingWebhookConfigurationUpdate,
			TableConvertor: t("mutatingwebhookconfigurations"),
		},
		&registry.Definition[*admissionregistrationv1.ValidatingAdmissionPolicy]{
			GroupVersion: gv, Resource: "validatingadmissionpolicies", Singular: "validatingadmissionpolicy",
			Kind: "ValidatingAdmissionPolicy", Categories: categories, Generation: true,
			New: func() *admissionregistrationv1.ValidatingAdmissionPolicy {
				return &admissionregistrationv1.ValidatingAdmissionPolicy{}
			},
			NewList:        func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },
			Validate:       v.ValidateValidatingAdmissionPolicy,
			ValidateUpdate: v.ValidateValidatingAdmissionPolicyUpdate,
			Status: &registry.Status[*admissionregistrationv1.ValidatingAdmissionPolicy]{
				ValidateUpdate: v.ValidateValidatingAdmissionPolicyStatusUpdate,
			},
			TableConvertor: t("validatingadmissionpolicies"),
		},
		&registry.Definition[*admissionregistrationv1.ValidatingAdmissionPolicyBinding]{
			GroupVersion: gv, Resource: "validatingadmissionpolicybindings", Singular: "validatingadmissionpolicybinding",
			Kind: "ValidatingAdmissionPolicyBinding", Categories: categories, Generation: true,
			New: func() *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
				return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
			},
			NewList:        func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} },
			Validate:       v.ValidateValidatingAdmissionPolicyBinding,
			ValidateUpdate: v.ValidateValidatingAdmissionPolicyBindingUpdate,
			TableConvertor: t("validatingadmissionpolicybindings"),
		},
		&registry.Definition[*admissionregistrationv1.MutatingAdmissionPolicy]{
			GroupVersion: gv, Resource: "mutatingadmissionpolicies", Singular: "mutatingadmissionpolicy",
			Kind: "MutatingAdmissionPolicy", Categories: categories, Generation: true,
			New: func() *admissionregistrationv1.MutatingAdmissionPolicy {
				return &admissionregistrationv1.MutatingAdmissionPolicy{}
			},
			NewList:        func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyList{} },
			Validate:       v.ValidateMutatingAdmissionPolicy,
			ValidateUpdate: v.ValidateMutatingAdmissionPolicyUpdate,
			TableConvertor: t("mutatingadmissionpolicies"),
		},
		&registry.Definition[*admissionregistrationv1.MutatingAdmissionPolicyBinding]{
			GroupVersion: gv, Resource: "mutatingadmissionpolicybindings", Singular: "mutatingadmissionpolicybinding",
			Kind: "MutatingAdmissionPolicyBinding", Categories: categories, Generation: true,
			New: func() *admissionregistrationv1.MutatingAdmissionPolicyBinding {
				return &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
			},
			NewList:        func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBindingList{} },
			Validate:       v.ValidateMutatingAdmissionPolicyBinding,
			ValidateUpdate: v.ValidateMutatingAdmissionPolicyBindingUpdate,
			TableConvertor: t("mutatingadmissionpolicybindings"),
		},
	}
}
