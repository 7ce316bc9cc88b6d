package defaults

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// addAdmissionRegistrationDefaults registers upstream's
// admissionregistration.k8s.io/v1 defaults for every kind of the group and
// its list.
func addAdmissionRegistrationDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&admissionregistrationv1.ValidatingWebhookConfiguration{}, func(o interface{}) {
		defaultValidatingWebhookConfiguration(o.(*admissionregistrationv1.ValidatingWebhookConfiguration))
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.ValidatingWebhookConfigurationList{}, func(o interface{}) {
		l := o.(*admissionregistrationv1.ValidatingWebhookConfigurationList)
		for i := range l.Items {
			defaultValidatingWebhookConfiguration(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.MutatingWebhookConfiguration{}, func(o interface{}) {
		defaultMutatingWebhookConfiguration(o.(*admissionregistrationv1.MutatingWebhookConfiguration))
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.MutatingWebhookConfigurationList{}, func(o interface{}) {
		l := o.(*admissionregistrationv1.MutatingWebhookConfigurationList)
		for i := range l.Items {
			defaultMutatingWebhookConfiguration(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.ValidatingAdmissionPolicy{}, func(o interface{}) {
		defaultValidatingAdmissionPolicy(o.(*admissionregistrationv1.ValidatingAdmissionPolicy))
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.ValidatingAdmissionPolicyList{}, func(o interface{}) {
		l := o.(*admissionregistrationv1.ValidatingAdmissionPolicyList)
		for i := range l.Items {
			defaultValidatingAdmissionPolicy(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, func(o interface{}) {
		defaultPolicyMatchResources(o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.MatchResources)
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}, func(o interface{}) {
		l := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBindingList)
		for i := range l.Items {
			defaultPolicyMatchResources(l.Items[i].Spec.MatchResources)
		}
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.MutatingAdmissionPolicy{}, func(o interface{}) {
		defaultMutatingAdmissionPolicy(o.(*admissionregistrationv1.MutatingAdmissionPolicy))
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.MutatingAdmissionPolicyList{}, func(o interface{}) {
		l := o.(*admissionregistrationv1.MutatingAdmissionPolicyList)
		for i := range l.Items {
			defaultMutatingAdmissionPolicy(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.MutatingAdmissionPolicyBinding{}, func(o interface{}) {
		defaultPolicyMatchResources(o.(*admissionregistrationv1.MutatingAdmissionPolicyBinding).Spec.MatchResources)
	})
	s.AddTypeDefaultingFunc(&admissionregistrationv1.MutatingAdmissionPolicyBindingList{}, func(o interface{}) {
		l := o.(*admissionregistrationv1.MutatingAdmissionPolicyBindingList)
		for i := range l.Items {
			defaultPolicyMatchResources(l.Items[i].Spec.MatchResources)
		}
	})
}

// webhookTimeoutSeconds is v1's default webhook timeout (v1beta1's was 30).
const webhookTimeoutSeconds = 10

func defaultValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
	for i := range c.Webhooks {
		h := &c.Webhooks[i]
		defaultWebhookCommon(&h.FailurePolicy, &h.MatchPolicy, &h.NamespaceSelector, &h.ObjectSelector, &h.TimeoutSeconds)
		defaultWebhookClientConfig(&h.ClientConfig)
		defaultWebhookRules(h.Rules)
	}
}

func defaultMutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) {
	for i := range c.Webhooks {
		h := &c.Webhooks[i]
		defaultWebhookCommon(&h.FailurePolicy, &h.MatchPolicy, &h.NamespaceSelector, &h.ObjectSelector, &h.TimeoutSeconds)
		defaultAdmissionField(&h.ReinvocationPolicy, admissionregistrationv1.NeverReinvocationPolicy)
		defaultWebhookClientConfig(&h.ClientConfig)
		defaultWebhookRules(h.Rules)
	}
}

// defaultWebhookCommon sets the defaults validating and mutating webhooks
// share. v1 leaves sideEffects and admissionReviewVersions unset: they are
// required.
func defaultWebhookCommon(failurePolicy **admissionregistrationv1.FailurePolicyType, matchPolicy **admissionregistrationv1.MatchPolicyType, namespaceSelector, objectSelector **metav1.LabelSelector, timeoutSeconds **int32) {
	defaultAdmissionField(failurePolicy, admissionregistrationv1.Fail)
	defaultAdmissionField(matchPolicy, admissionregistrationv1.Equivalent)
	defaultAdmissionField(namespaceSelector, metav1.LabelSelector{})
	defaultAdmissionField(objectSelector, metav1.LabelSelector{})
	defaultAdmissionField(timeoutSeconds, webhookTimeoutSeconds)
}

func defaultWebhookClientConfig(cc *admissionregistrationv1.WebhookClientConfig) {
	if cc.Service != nil {
		defaultAdmissionField(&cc.Service.Port, 443)
	}
}

func defaultWebhookRules(rules []admissionregistrationv1.RuleWithOperations) {
	for i := range rules {
		defaultAdmissionField(&rules[i].Scope, admissionregistrationv1.AllScopes)
	}
}

func defaultValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
	defaultAdmissionField(&p.Spec.FailurePolicy, admissionregistrationv1.Fail)
	defaultPolicyMatchResources(p.Spec.MatchConstraints)
}

func defaultMutatingAdmissionPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy) {
	defaultAdmissionField(&p.Spec.FailurePolicy, admissionregistrationv1.Fail)
	defaultPolicyMatchResources(p.Spec.MatchConstraints)
}

// defaultPolicyMatchResources defaults a policy's matchConstraints or a binding's
// matchResources, and the scope of their rules.
func defaultPolicyMatchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	defaultAdmissionField(&m.MatchPolicy, admissionregistrationv1.Equivalent)
	defaultAdmissionField(&m.NamespaceSelector, metav1.LabelSelector{})
	defaultAdmissionField(&m.ObjectSelector, metav1.LabelSelector{})
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			defaultAdmissionField(&rules[i].Scope, admissionregistrationv1.AllScopes)
		}
	}
}

// defaultAdmissionField points *field at a copy of value when it is unset.
func defaultAdmissionField[T any](field **T, value T) {
	if *field == nil {
		*field = ptr.To(value)
	}
}
