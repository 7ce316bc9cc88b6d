package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func admissionRegistrationScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := admissionregistrationv1.AddToScheme(s); err != nil {
		t.Fatalf("adding admissionregistration/v1 to the scheme: %v", err)
	}
	addAdmissionRegistrationDefaults(s)
	return s
}

func TestAdmissionRegistrationDefaults(t *testing.T) {
	var (
		fail       = ptr.To(admissionregistrationv1.Fail)
		ignore     = ptr.To(admissionregistrationv1.Ignore)
		equivalent = ptr.To(admissionregistrationv1.Equivalent)
		exact      = ptr.To(admissionregistrationv1.Exact)
		allScopes  = ptr.To(admissionregistrationv1.AllScopes)
		cluster    = ptr.To(admissionregistrationv1.ClusterScope)
		never      = ptr.To(admissionregistrationv1.NeverReinvocationPolicy)
		ifNeeded   = ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy)
		none       = ptr.To(admissionregistrationv1.SideEffectClassNone)
		empty      = &metav1.LabelSelector{}
		team       = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	)
	rule := func(scope *admissionregistrationv1.ScopeType) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: scope},
		}
	}
	namedRule := func(scope *admissionregistrationv1.ScopeType) admissionregistrationv1.NamedRuleWithOperations {
		return admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: rule(scope)}
	}
	service := func(port *int32) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Port: port}}
	}
	url := admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://example.com/hook")}
	defaultedMatch := &admissionregistrationv1.MatchResources{
		MatchPolicy: equivalent, NamespaceSelector: empty, ObjectSelector: empty,
		ResourceRules:        []admissionregistrationv1.NamedRuleWithOperations{namedRule(allScopes)},
		ExcludeResourceRules: []admissionregistrationv1.NamedRuleWithOperations{namedRule(allScopes)},
	}
	setMatch := func() *admissionregistrationv1.MatchResources {
		return &admissionregistrationv1.MatchResources{
			MatchPolicy: exact, NamespaceSelector: team, ObjectSelector: team,
			ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{namedRule(cluster)},
		}
	}
	bareMatch := func() *admissionregistrationv1.MatchResources {
		return &admissionregistrationv1.MatchResources{
			ResourceRules:        []admissionregistrationv1.NamedRuleWithOperations{namedRule(nil)},
			ExcludeResourceRules: []admissionregistrationv1.NamedRuleWithOperations{namedRule(nil)},
		}
	}

	tests := []struct {
		name     string
		obj      runtime.Object
		expected runtime.Object
	}{{
		name: "validating webhook: unset fields",
		obj: &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "a.example.com", ClientConfig: service(nil), Rules: []admissionregistrationv1.RuleWithOperations{rule(nil)},
		}}},
		expected: &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "a.example.com", ClientConfig: service(ptr.To[int32](443)), Rules: []admissionregistrationv1.RuleWithOperations{rule(allScopes)},
			FailurePolicy: fail, MatchPolicy: equivalent, NamespaceSelector: empty, ObjectSelector: empty, TimeoutSeconds: ptr.To[int32](10),
		}}},
	}, {
		name: "validating webhook: set fields are kept, sideEffects and admissionReviewVersions are not defaulted",
		obj: &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "a.example.com", ClientConfig: service(ptr.To[int32](8443)), Rules: []admissionregistrationv1.RuleWithOperations{rule(cluster)},
			FailurePolicy: ignore, MatchPolicy: exact, NamespaceSelector: team, ObjectSelector: team, TimeoutSeconds: ptr.To[int32](3),
		}}},
		expected: &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "a.example.com", ClientConfig: service(ptr.To[int32](8443)), Rules: []admissionregistrationv1.RuleWithOperations{rule(cluster)},
			FailurePolicy: ignore, MatchPolicy: exact, NamespaceSelector: team, ObjectSelector: team, TimeoutSeconds: ptr.To[int32](3),
		}}},
	}, {
		name: "validating webhook list: every item, url client config untouched",
		obj: &admissionregistrationv1.ValidatingWebhookConfigurationList{Items: []admissionregistrationv1.ValidatingWebhookConfiguration{{
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a.example.com", ClientConfig: url, SideEffects: none}},
		}}},
		expected: &admissionregistrationv1.ValidatingWebhookConfigurationList{Items: []admissionregistrationv1.ValidatingWebhookConfiguration{{
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name: "a.example.com", ClientConfig: url, SideEffects: none,
				FailurePolicy: fail, MatchPolicy: equivalent, NamespaceSelector: empty, ObjectSelector: empty, TimeoutSeconds: ptr.To[int32](10),
			}},
		}}},
	}, {
		name: "mutating webhook: unset fields, reinvocationPolicy Never",
		obj: &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "a.example.com", ClientConfig: service(nil), Rules: []admissionregistrationv1.RuleWithOperations{rule(nil)},
		}}},
		expected: &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "a.example.com", ClientConfig: service(ptr.To[int32](443)), Rules: []admissionregistrationv1.RuleWithOperations{rule(allScopes)},
			FailurePolicy: fail, MatchPolicy: equivalent, NamespaceSelector: empty, ObjectSelector: empty, TimeoutSeconds: ptr.To[int32](10),
			ReinvocationPolicy: never,
		}}},
	}, {
		name: "mutating webhook list: set reinvocationPolicy kept",
		obj: &admissionregistrationv1.MutatingWebhookConfigurationList{Items: []admissionregistrationv1.MutatingWebhookConfiguration{{
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "a.example.com", ClientConfig: url, ReinvocationPolicy: ifNeeded}},
		}}},
		expected: &admissionregistrationv1.MutatingWebhookConfigurationList{Items: []admissionregistrationv1.MutatingWebhookConfiguration{{
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name: "a.example.com", ClientConfig: url, ReinvocationPolicy: ifNeeded,
				FailurePolicy: fail, MatchPolicy: equivalent, NamespaceSelector: empty, ObjectSelector: empty, TimeoutSeconds: ptr.To[int32](10),
			}},
		}}},
	}, {
		name:     "validating admission policy: failurePolicy and matchConstraints",
		obj:      &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: bareMatch()}},
		expected: &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: fail, MatchConstraints: defaultedMatch}},
	}, {
		name:     "validating admission policy: no matchConstraints stays nil, set values kept",
		obj:      &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: ignore}},
		expected: &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: ignore}},
	}, {
		name: "validating admission policy list",
		obj: &admissionregistrationv1.ValidatingAdmissionPolicyList{Items: []admissionregistrationv1.ValidatingAdmissionPolicy{
			{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: setMatch()}},
		}},
		expected: &admissionregistrationv1.ValidatingAdmissionPolicyList{Items: []admissionregistrationv1.ValidatingAdmissionPolicy{
			{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: fail, MatchConstraints: setMatch()}},
		}},
	}, {
		name:     "validating admission policy binding: matchResources",
		obj:      &admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p", MatchResources: bareMatch()}},
		expected: &admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p", MatchResources: defaultedMatch}},
	}, {
		name: "validating admission policy binding list: paramRef is not defaulted",
		obj: &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{Items: []admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{ParamRef: &admissionregistrationv1.ParamRef{Name: "x"}, MatchResources: bareMatch()}},
		}},
		expected: &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{Items: []admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{ParamRef: &admissionregistrationv1.ParamRef{Name: "x"}, MatchResources: defaultedMatch}},
		}},
	}, {
		name:     "mutating admission policy: failurePolicy and matchConstraints, reinvocationPolicy left required",
		obj:      &admissionregistrationv1.MutatingAdmissionPolicy{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: bareMatch()}},
		expected: &admissionregistrationv1.MutatingAdmissionPolicy{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{FailurePolicy: fail, MatchConstraints: defaultedMatch}},
	}, {
		name: "mutating admission policy list",
		obj: &admissionregistrationv1.MutatingAdmissionPolicyList{Items: []admissionregistrationv1.MutatingAdmissionPolicy{
			{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{FailurePolicy: ignore}},
		}},
		expected: &admissionregistrationv1.MutatingAdmissionPolicyList{Items: []admissionregistrationv1.MutatingAdmissionPolicy{
			{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{FailurePolicy: ignore}},
		}},
	}, {
		name:     "mutating admission policy binding: matchResources",
		obj:      &admissionregistrationv1.MutatingAdmissionPolicyBinding{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: bareMatch()}},
		expected: &admissionregistrationv1.MutatingAdmissionPolicyBinding{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: defaultedMatch}},
	}, {
		name: "mutating admission policy binding list",
		obj: &admissionregistrationv1.MutatingAdmissionPolicyBindingList{Items: []admissionregistrationv1.MutatingAdmissionPolicyBinding{
			{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: bareMatch()}},
		}},
		expected: &admissionregistrationv1.MutatingAdmissionPolicyBindingList{Items: []admissionregistrationv1.MutatingAdmissionPolicyBinding{
			{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: defaultedMatch}},
		}},
	}}

	s := admissionRegistrationScheme(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.Default(tc.obj)
			if diff := cmp.Diff(tc.expected, tc.obj); diff != "" {
				t.Errorf("defaulted object (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdmissionRegistrationDefaultsDoNotAlias checks that two webhooks
// defaulted together do not share the pointers they were given.
func TestAdmissionRegistrationDefaultsDoNotAlias(t *testing.T) {
	obj := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a"}, {Name: "b"}}}
	admissionRegistrationScheme(t).Default(obj)
	*obj.Webhooks[0].TimeoutSeconds = 1
	obj.Webhooks[0].NamespaceSelector.MatchLabels = map[string]string{"x": "y"}
	if got := *obj.Webhooks[1].TimeoutSeconds; got != 10 {
		t.Errorf("second webhook's timeoutSeconds = %d, want 10", got)
	}
	if got := obj.Webhooks[1].NamespaceSelector.MatchLabels; got != nil {
		t.Errorf("second webhook's namespaceSelector = %v, want empty", got)
	}
}
