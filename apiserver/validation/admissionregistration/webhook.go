package admissionregistration

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	admissionregistrationv1beta1 "k8s.io/api/admissionregistration/v1beta1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/util/webhook"
)

// acceptedAdmissionReviewVersions are the AdmissionReview versions the server
// can send, in the order its messages name them.
var acceptedAdmissionReviewVersions = []string{
	admissionregistrationv1.SchemeGroupVersion.Version,
	admissionregistrationv1beta1.SchemeGroupVersion.Version,
}

var (
	allSideEffectClasses = sets.New(
		admissionregistrationv1.SideEffectClassUnknown,
		admissionregistrationv1.SideEffectClassNone,
		admissionregistrationv1.SideEffectClassSome,
		admissionregistrationv1.SideEffectClassNoneOnDryRun,
	)
	// noSideEffectClasses are the classes the v1 API accepts for new webhooks.
	noSideEffectClasses = sets.New(admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.SideEffectClassNoneOnDryRun)
)

// defaultServicePort is the port a service reference without one is called on.
const defaultServicePort = 443

// hook is the part of a ValidatingWebhook or MutatingWebhook that is
// validated; the two kinds differ only in reinvocationPolicy.
type hook struct {
	name                    string
	clientConfig            admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	namespaceSelector       *metav1.LabelSelector
	objectSelector          *metav1.LabelSelector
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
	mutating                bool
	reinvocationPolicy      *admissionregistrationv1.ReinvocationPolicyType
}

func validatingHooks(in []admissionregistrationv1.ValidatingWebhook) []hook {
	out := make([]hook, len(in))
	for i, h := range in {
		out[i] = hook{
			name: h.Name, clientConfig: h.ClientConfig, rules: h.Rules,
			failurePolicy: h.FailurePolicy, matchPolicy: h.MatchPolicy,
			namespaceSelector: h.NamespaceSelector, objectSelector: h.ObjectSelector,
			sideEffects: h.SideEffects, timeoutSeconds: h.TimeoutSeconds,
			admissionReviewVersions: h.AdmissionReviewVersions, matchConditions: h.MatchConditions,
		}
	}
	return out
}

func mutatingHooks(in []admissionregistrationv1.MutatingWebhook) []hook {
	out := make([]hook, len(in))
	for i, h := range in {
		out[i] = hook{
			name: h.Name, clientConfig: h.ClientConfig, rules: h.Rules,
			failurePolicy: h.FailurePolicy, matchPolicy: h.MatchPolicy,
			namespaceSelector: h.NamespaceSelector, objectSelector: h.ObjectSelector,
			sideEffects: h.SideEffects, timeoutSeconds: h.TimeoutSeconds,
			admissionReviewVersions: h.AdmissionReviewVersions, matchConditions: h.MatchConditions,
			mutating: true, reinvocationPolicy: h.ReinvocationPolicy,
		}
	}
	return out
}

// hookOptions are the checks that an update relaxes when the old object
// already broke them, so that objects stored by older servers stay
// updatable.
type hookOptions struct {
	ignoreMatchConditions                   bool
	requireNoSideEffects                    bool
	requireRecognizedAdmissionReviewVersion bool
	requireUniqueNames                      bool
	allowInvalidLabelValueInSelector        bool
	stored                                  storedExpressions
}

// createHookOptions are the strict options of a create.
var createHookOptions = hookOptions{
	requireNoSideEffects:                    true,
	requireRecognizedAdmissionReviewVersion: true,
	requireUniqueNames:                      true,
}

// updateHookOptions relaxes each check the old webhooks already failed, and
// skips match conditions that did not change.
func updateHookOptions(hooks, old []hook) hookOptions {
	opts := hookOptions{
		ignoreMatchConditions:                   len(hooks) == len(old),
		requireNoSideEffects:                    true,
		requireRecognizedAdmissionReviewVersion: true,
		requireUniqueNames:                      true,
		stored:                                  storedExpressions{matchConditions: sets.New[string]()},
	}
	for i := range hooks {
		if i < len(old) && !equality.Semantic.DeepEqual(hooks[i].matchConditions, old[i].matchConditions) {
			opts.ignoreMatchConditions = false
		}
	}
	names := sets.New[string]()
	for _, h := range old {
		if h.sideEffects == nil || !noSideEffectClasses.Has(*h.sideEffects) {
			opts.requireNoSideEffects = false
		}
		if len(h.admissionReviewVersions) > 0 && !sets.New(h.admissionReviewVersions...).HasAny(acceptedAdmissionReviewVersions...) {
			opts.requireRecognizedAdmissionReviewVersion = false
		}
		if names.Has(h.name) {
			opts.requireUniqueNames = false
		}
		names.Insert(h.name)
		for _, sel := range []*metav1.LabelSelector{h.namespaceSelector, h.objectSelector} {
			if sel != nil && len(metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
				opts.allowInvalidLabelValueInSelector = true
			}
		}
		opts.stored.matchConditions = opts.stored.matchConditions.Union(matchConditionExpressions(h.matchConditions))
	}
	return opts
}

// ValidateValidatingWebhookConfiguration validates a ValidatingWebhookConfiguration to be created.
func ValidateValidatingWebhookConfiguration(obj *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	errs := validateWebhookConfiguration(&obj.ObjectMeta, validatingHooks(obj.Webhooks), createHookOptions)
	return append(errs, validateNotStaticName(obj.Name)...)
}

// ValidateValidatingWebhookConfigurationUpdate validates an update of a ValidatingWebhookConfiguration.
func ValidateValidatingWebhookConfigurationUpdate(obj, old *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	hooks := validatingHooks(obj.Webhooks)
	return validateWebhookConfiguration(&obj.ObjectMeta, hooks, updateHookOptions(hooks, validatingHooks(old.Webhooks)))
}

// ValidateMutatingWebhookConfiguration validates a MutatingWebhookConfiguration to be created.
func ValidateMutatingWebhookConfiguration(obj *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	errs := validateWebhookConfiguration(&obj.ObjectMeta, mutatingHooks(obj.Webhooks), createHookOptions)
	return append(errs, validateNotStaticName(obj.Name)...)
}

// ValidateMutatingWebhookConfigurationUpdate validates an update of a MutatingWebhookConfiguration.
func ValidateMutatingWebhookConfigurationUpdate(obj, old *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	hooks := mutatingHooks(obj.Webhooks)
	return validateWebhookConfiguration(&obj.ObjectMeta, hooks, updateHookOptions(hooks, mutatingHooks(old.Webhooks)))
}

func validateWebhookConfiguration(meta *metav1.ObjectMeta, hooks []hook, opts hookOptions) field.ErrorList {
	errs := validateClusterObjectMeta(meta)
	names := sets.New[string]()
	for i := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateHook(&hooks[i], opts, p)...)
		errs = append(errs, validateAdmissionReviewVersions(hooks[i].admissionReviewVersions, opts.requireRecognizedAdmissionReviewVersion, p.Child("admissionReviewVersions"))...)
		if name := hooks[i].name; opts.requireUniqueNames && name != "" {
			if names.Has(name) {
				errs = append(errs, field.Duplicate(p.Child("name"), name))
			}
			names.Insert(name)
		}
	}
	return errs
}

func validateHook(h *hook, opts hookOptions, fldPath *field.Path) field.ErrorList {
	errs := utilvalidation.IsFullyQualifiedName(fldPath.Child("name"), h.name)
	for i := range h.rules {
		errs = append(errs, validateRuleWithOperations(&h.rules[i], fldPath.Child("rules").Index(i))...)
	}
	if h.failurePolicy != nil && !supportedFailurePolicies.Has(*h.failurePolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("failurePolicy"), *h.failurePolicy, sets.List(supportedFailurePolicies)))
	}
	if h.matchPolicy != nil && !supportedMatchPolicies.Has(*h.matchPolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("matchPolicy"), *h.matchPolicy, sets.List(supportedMatchPolicies)))
	}
	allowedSideEffects := allSideEffectClasses
	if opts.requireNoSideEffects {
		allowedSideEffects = noSideEffectClasses
	}
	switch {
	case h.sideEffects == nil:
		errs = append(errs, field.Required(fldPath.Child("sideEffects"), "must specify one of "+joinSorted(allowedSideEffects)))
	case !allowedSideEffects.Has(*h.sideEffects):
		errs = append(errs, field.NotSupported(fldPath.Child("sideEffects"), *h.sideEffects, sets.List(allowedSideEffects)))
	}
	if h.timeoutSeconds != nil && (*h.timeoutSeconds < 1 || *h.timeoutSeconds > 30) {
		errs = append(errs, field.Invalid(fldPath.Child("timeoutSeconds"), *h.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"))
	}
	selectorOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}
	if h.namespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.namespaceSelector, selectorOpts, fldPath.Child("namespaceSelector"))...)
	}
	if h.objectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.objectSelector, selectorOpts, fldPath.Child("objectSelector"))...)
	}
	if h.mutating && h.reinvocationPolicy != nil && !supportedReinvocationPolicies.Has(*h.reinvocationPolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("reinvocationPolicy"), *h.reinvocationPolicy, sets.List(supportedReinvocationPolicies)))
	}
	errs = append(errs, validateClientConfig(&h.clientConfig, fldPath.Child("clientConfig"))...)
	if !opts.ignoreMatchConditions {
		errs = append(errs, validateMatchConditions(h.matchConditions, false, opts.stored, fldPath.Child("matchConditions"))...)
	}
	return errs
}

func validateClientConfig(cc *admissionregistrationv1.WebhookClientConfig, fldPath *field.Path) field.ErrorList {
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		return field.ErrorList{field.Required(fldPath, "exactly one of url or service is required")}
	case cc.URL != nil:
		return webhook.ValidateWebhookURL(fldPath.Child("url"), *cc.URL, true)
	default:
		port := int32(defaultServicePort)
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		// kube-apiserver passes the service's name where the helper takes
		// its namespace and the other way round, so a missing name is
		// reported at service.namespace and a missing namespace at
		// service.name; this keeps its errors.
		return webhook.ValidateWebhookService(fldPath.Child("service"), cc.Service.Name, cc.Service.Namespace, cc.Service.Path, port)
	}
}

func validateAdmissionReviewVersions(versions []string, requireRecognized bool, fldPath *field.Path) field.ErrorList {
	accepted := strings.Join(acceptedAdmissionReviewVersions, ", ")
	if len(versions) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify one of "+accepted)}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, v := range versions {
		if seen.Has(v) {
			errs = append(errs, field.Invalid(fldPath.Index(i), v, "duplicate version"))
			continue
		}
		seen.Insert(v)
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(fldPath.Index(i), v, msg))
		}
	}
	if requireRecognized && !seen.HasAny(acceptedAdmissionReviewVersions...) {
		errs = append(errs, field.Invalid(fldPath, versions, "must include at least one of "+accepted))
	}
	return errs
}

func joinSorted[T ~string](s sets.Set[T]) string {
	values := sets.List(s)
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return strings.Join(out, ", ")
}
