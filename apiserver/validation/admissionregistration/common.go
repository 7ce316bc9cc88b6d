package admissionregistration

import (
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	genericvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/manifest"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
)

// maxMatchConditions is how many match conditions a webhook or policy may have.
const maxMatchConditions = 64

var (
	supportedFailurePolicies = sets.New(admissionregistrationv1.Ignore, admissionregistrationv1.Fail)
	supportedMatchPolicies   = sets.New(admissionregistrationv1.Exact, admissionregistrationv1.Equivalent)
	supportedScopes          = sets.New(admissionregistrationv1.ClusterScope, admissionregistrationv1.NamespacedScope, admissionregistrationv1.AllScopes)
	supportedOperations      = sets.New(
		admissionregistrationv1.OperationAll,
		admissionregistrationv1.Create,
		admissionregistrationv1.Update,
		admissionregistrationv1.Delete,
		admissionregistrationv1.Connect,
	)
	supportedReinvocationPolicies = sets.New(admissionregistrationv1.NeverReinvocationPolicy, admissionregistrationv1.IfNeededReinvocationPolicy)
)

// validateClusterObjectMeta validates the metadata of every kind of this
// group: cluster-scoped, named as DNS subdomains.
func validateClusterObjectMeta(meta *metav1.ObjectMeta) field.ErrorList {
	return genericvalidation.ValidateObjectMeta(meta, false, genericvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

// validateNotStaticName rejects, on create, the names kept for the
// configurations the server loads from its static manifests, while the
// ManifestBasedAdmissionControlConfig feature is on (as it is by default).
func validateNotStaticName(name string) field.ErrorList {
	if !utilfeature.DefaultFeatureGate.Enabled(features.ManifestBasedAdmissionControlConfig) || !strings.HasSuffix(name, manifest.StaticConfigSuffix) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), name,
		fmt.Sprintf("names ending with %q are reserved for static manifest-based configurations and cannot be managed via the API", manifest.StaticConfigSuffix))}
}

func hasWildcard(values []string) bool {
	for _, v := range values {
		if v == "*" {
			return true
		}
	}
	return false
}

// validateRuleWithOperations validates a webhook rule or a policy's resource
// rule.
func validateRuleWithOperations(r *admissionregistrationv1.RuleWithOperations, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	opsPath := fldPath.Child("operations")
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(opsPath, ""))
	}
	if len(r.Operations) > 1 && sets.New(r.Operations...).Has(admissionregistrationv1.OperationAll) {
		errs = append(errs, field.Invalid(opsPath, r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range r.Operations {
		if !supportedOperations.Has(op) {
			errs = append(errs, field.NotSupported(opsPath.Index(i), op, sets.List(supportedOperations)))
		}
	}
	return append(errs, validateRule(&r.Rule, fldPath)...)
}

func validateRule(r *admissionregistrationv1.Rule, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	groupsPath, versionsPath := fldPath.Child("apiGroups"), fldPath.Child("apiVersions")
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(groupsPath, ""))
	}
	if len(r.APIGroups) > 1 && hasWildcard(r.APIGroups) {
		errs = append(errs, field.Invalid(groupsPath, r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	// An empty group is the legacy core group, so groups are not checked
	// one by one; versions are.
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(versionsPath, ""))
	}
	if len(r.APIVersions) > 1 && hasWildcard(r.APIVersions) {
		errs = append(errs, field.Invalid(versionsPath, r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(versionsPath.Index(i), ""))
		}
	}
	errs = append(errs, validateResources(r.Resources, fldPath.Child("resources"))...)
	if r.Scope != nil && !supportedScopes.Has(*r.Scope) {
		errs = append(errs, field.NotSupported(fldPath.Child("scope"), *r.Scope, sets.List(supportedScopes)))
	}
	return errs
}

// validateResources validates "resource" and "resource/subresource" entries
// and their wildcards: "*/*" stands alone, "*" excludes plain resources,
// "x/*" excludes "x/y" and "*/y" excludes "x/y".
func validateResources(resources []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(fldPath, ""))
	}
	anySubresourceOf := sets.New[string]() // x of "x/*"
	anyResourceWith := sets.New[string]()  // y of "*/y"
	var allOfAll, allResources, plainResource bool
	for i, entry := range resources {
		if entry == "" {
			errs = append(errs, field.Required(fldPath.Index(i), ""))
			continue
		}
		switch entry {
		case "*/*":
			allOfAll = true
		case "*":
			allResources = true
		}
		resource, subresource, found := strings.Cut(entry, "/")
		if !found {
			// As upstream, only the last plain entry counts.
			plainResource = entry != "*"
			continue
		}
		if anySubresourceOf.Has(resource) {
			errs = append(errs, field.Invalid(fldPath.Index(i), entry, fmt.Sprintf("if '%s/*' is present, must not specify %s", resource, entry)))
		}
		if anyResourceWith.Has(subresource) {
			errs = append(errs, field.Invalid(fldPath.Index(i), entry, fmt.Sprintf("if '*/%s' is present, must not specify %s", subresource, entry)))
		}
		if subresource == "*" {
			anySubresourceOf.Insert(resource)
		}
		if resource == "*" {
			anyResourceWith.Insert(subresource)
		}
	}
	if len(resources) > 1 && allOfAll {
		errs = append(errs, field.Invalid(fldPath, resources, "if '*/*' is present, must not specify other resources"))
	}
	if allResources && plainResource {
		errs = append(errs, field.Invalid(fldPath, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

// validateMatchConditions validates the match conditions of a webhook or a
// policy; their expressions compile without variables, and with params when
// hasParams.
func validateMatchConditions(conditions []admissionregistrationv1.MatchCondition, hasParams bool, stored storedExpressions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(conditions) > maxMatchConditions {
		errs = append(errs, field.TooMany(fldPath, len(conditions), maxMatchConditions))
	}
	names := sets.New[string]()
	for i := range conditions {
		c := &conditions[i]
		p := fldPath.Index(i)
		if expression := strings.TrimSpace(c.Expression); expression == "" {
			errs = append(errs, field.Required(p.Child("expression"), ""))
		} else {
			errs = append(errs, compileExpression(sharedCompiler(), &matchconditions.MatchCondition{Expression: expression},
				plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
				envFor(stored.matchConditions, expression), p.Child("expression"))...)
		}
		if c.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, validateQualifiedName(c.Name, p.Child("name"))...)
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
	}
	return errs
}

func validateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func matchConditionExpressions(conditions []admissionregistrationv1.MatchCondition) sets.Set[string] {
	s := sets.New[string]()
	for _, c := range conditions {
		s.Insert(c.Expression)
	}
	return s
}

// validateMatchResources validates a policy's matchConstraints or a binding's
// matchResources. Unlike the webhooks' selectors, these were introduced after
// label values in selectors became strictly checked, so they always are.
func validateMatchResources(m *admissionregistrationv1.MatchResources, fldPath *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	var errs field.ErrorList
	if m.MatchPolicy == nil {
		errs = append(errs, field.Required(fldPath.Child("matchPolicy"), ""))
	} else if !supportedMatchPolicies.Has(*m.MatchPolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("matchPolicy"), *m.MatchPolicy, sets.List(supportedMatchPolicies)))
	}
	for _, sel := range []struct {
		name     string
		selector *metav1.LabelSelector
	}{{"namespaceSelector", m.NamespaceSelector}, {"objectSelector", m.ObjectSelector}} {
		if sel.selector == nil {
			errs = append(errs, field.Required(fldPath.Child(sel.name), ""))
			continue
		}
		errs = append(errs, metav1validation.ValidateLabelSelector(sel.selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child(sel.name))...)
	}
	for i := range m.ResourceRules {
		errs = append(errs, validateNamedRule(&m.ResourceRules[i], fldPath.Child("resourceRules").Index(i))...)
	}
	for i := range m.ExcludeResourceRules {
		errs = append(errs, validateNamedRule(&m.ExcludeResourceRules[i], fldPath.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

func validateNamedRule(r *admissionregistrationv1.NamedRuleWithOperations, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, name := range r.ResourceNames {
		p := fldPath.Child("resourceNames").Index(i)
		for _, msg := range content.IsPathSegmentName(name) {
			errs = append(errs, field.Invalid(p, name, msg))
		}
		if seen.Has(name) {
			errs = append(errs, field.Duplicate(p, name))
		}
		seen.Insert(name)
	}
	return append(errs, validateRuleWithOperations(&r.RuleWithOperations, fldPath)...)
}

// validateParamKind validates a policy's paramKind, as an APIService's group
// and version would be.
func validateParamKind(k *admissionregistrationv1.ParamKind, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	versionPath := fldPath.Child("apiVersion")
	if k.APIVersion == "" {
		errs = append(errs, field.Required(versionPath, ""))
	} else if group, version, err := splitGroupVersion(k.APIVersion); err != nil {
		errs = append(errs, field.Invalid(versionPath, k.APIVersion, err.Error()))
	} else {
		if group != "" {
			if msgs := utilvalidation.IsDNS1123Subdomain(group); len(msgs) > 0 {
				errs = append(errs, field.Invalid(versionPath, group, strings.Join(msgs, ",")))
			}
		}
		if version == "" {
			errs = append(errs, field.Invalid(versionPath, k.APIVersion, "version must be specified"))
		} else if msgs := utilvalidation.IsDNS1035Label(version); len(msgs) > 0 {
			errs = append(errs, field.Invalid(versionPath, version, strings.Join(msgs, ",")))
		}
	}
	if k.Kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else if msgs := utilvalidation.IsDNS1035Label(strings.ToLower(k.Kind)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("kind"), k.Kind, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
	}
	return errs
}

// splitGroupVersion splits "group/version" or "version"; "/" alone is an
// empty group and version.
func splitGroupVersion(gv string) (group, version string, err error) {
	switch {
	case gv == "/":
		return "", "", nil
	case strings.Count(gv, "/") > 1:
		return "", "", fmt.Errorf("unexpected GroupVersion string: %v", gv)
	}
	if group, version, found := strings.Cut(gv, "/"); found {
		return group, version, nil
	}
	return "", gv, nil
}

// validateParamRef validates a binding's paramRef: exactly one of name and
// selector, and what to do when no parameter is found.
func validateParamRef(r *admissionregistrationv1.ParamRef, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	const exclusive = "name and selector are mutually exclusive"
	if r.Name != "" {
		for _, msg := range content.IsPathSegmentName(r.Name) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), r.Name, msg))
		}
		if r.Selector != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("name"), exclusive))
		}
	}
	if r.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(r.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
		if r.Name != "" {
			errs = append(errs, field.Forbidden(fldPath.Child("selector"), exclusive))
		}
	}
	if r.Name == "" && r.Selector == nil {
		errs = append(errs, field.Required(fldPath, "one of name or selector must be specified"))
	}
	actionPath := fldPath.Child("parameterNotFoundAction")
	switch {
	case r.ParameterNotFoundAction == nil || *r.ParameterNotFoundAction == "":
		errs = append(errs, field.Required(actionPath, ""))
	case *r.ParameterNotFoundAction != admissionregistrationv1.DenyAction && *r.ParameterNotFoundAction != admissionregistrationv1.AllowAction:
		errs = append(errs, field.NotSupported(actionPath, *r.ParameterNotFoundAction,
			[]admissionregistrationv1.ParameterNotFoundActionType{admissionregistrationv1.DenyAction, admissionregistrationv1.AllowAction}))
	}
	return errs
}

// validatePolicyName validates the policy a binding names.
func validatePolicyName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	for _, msg := range genericvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}
