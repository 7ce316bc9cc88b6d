package rbac

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// validateName is the name rule of every RBAC object and of a roleRef:
// anything that is safe as a URL path segment, such as "system:node".
func validateName(name string, _ bool) []string {
	return content.IsPathSegmentName(name)
}

// ValidateRole validates a new Role: a namespaced object whose rules are
// valid namespaced rules.
func ValidateRole(r *rbacv1.Role) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&r.ObjectMeta, true, validateName)
	return append(errs, validateRules(r.Rules, true)...)
}

// ValidateRoleUpdate validates an update of a Role.
func ValidateRoleUpdate(r, old *rbacv1.Role) field.ErrorList {
	errs := ValidateRole(r)
	return append(errs, metavalidation.ValidateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)...)
}

// ValidateClusterRole validates a new ClusterRole: a cluster-scoped object
// whose rules are valid and whose aggregationRule, if set, has at least one
// valid label selector.
func ValidateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	return validateClusterRole(r, metav1validation.LabelSelectorValidationOptions{})
}

// ValidateClusterRoleUpdate validates an update of a ClusterRole. Selector
// label values that fail validation are tolerated when the stored
// ClusterRole already had an invalid selector, so that objects stored by
// older servers stay updatable.
func ValidateClusterRoleUpdate(r, old *rbacv1.ClusterRole) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: hasInvalidSelector(old)}
	errs := validateClusterRole(r, opts)
	return append(errs, metavalidation.ValidateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)...)
}

func validateClusterRole(r *rbacv1.ClusterRole, opts metav1validation.LabelSelectorValidationOptions) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&r.ObjectMeta, false, validateName)
	errs = append(errs, validateRules(r.Rules, false)...)
	if r.AggregationRule == nil {
		return errs
	}
	selectorsPath := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(selectorsPath, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	for i := range r.AggregationRule.ClusterRoleSelectors {
		selector := &r.AggregationRule.ClusterRoleSelectors[i]
		errs = append(errs, metav1validation.ValidateLabelSelector(selector, opts, selectorsPath.Index(i))...)
		if _, err := metav1.LabelSelectorAsSelector(selector); err != nil {
			errs = append(errs, field.Invalid(selectorsPath.Index(i), selector, "invalid label selector."))
		}
	}
	return errs
}

// hasInvalidSelector reports whether any aggregation selector of r fails
// strict validation.
func hasInvalidSelector(r *rbacv1.ClusterRole) bool {
	if r.AggregationRule == nil {
		return false
	}
	for i := range r.AggregationRule.ClusterRoleSelectors {
		if len(metav1validation.ValidateLabelSelector(&r.AggregationRule.ClusterRoleSelectors[i], metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}

func validateRules(rules []rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i := range rules {
		errs = append(errs, validatePolicyRule(&rules[i], namespaced, field.NewPath("rules").Index(i))...)
	}
	return errs
}

// validatePolicyRule checks that a rule has verbs and applies either to
// resources (with API groups and resources) or, outside a namespace, to
// non-resource URLs.
func validatePolicyRule(rule *rbacv1.PolicyRule, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Verbs) == 0 {
		errs = append(errs, field.Required(fldPath.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(rule.NonResourceURLs) > 0 {
		urlsPath := fldPath.Child("nonResourceURLs")
		if namespaced {
			errs = append(errs, field.Invalid(urlsPath, rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(urlsPath, rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(rule.APIGroups) == 0 {
		errs = append(errs, field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, field.Required(fldPath.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}

// ValidateRoleBinding validates a new RoleBinding: a namespaced object
// whose roleRef names a Role or ClusterRole and whose subjects are valid.
func ValidateRoleBinding(b *rbacv1.RoleBinding) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&b.ObjectMeta, true, validateName)
	errs = append(errs, validateRoleRef(b.RoleRef, []string{"Role", "ClusterRole"})...)
	return append(errs, validateSubjects(b.Subjects, true)...)
}

// ValidateRoleBindingUpdate validates an update of a RoleBinding, whose
// roleRef never changes.
func ValidateRoleBindingUpdate(b, old *rbacv1.RoleBinding) field.ErrorList {
	errs := ValidateRoleBinding(b)
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, validateRoleRefUnchanged(b.RoleRef, old.RoleRef)...)
}

// ValidateClusterRoleBinding validates a new ClusterRoleBinding: a
// cluster-scoped object whose roleRef names a ClusterRole and whose
// subjects are valid, service accounts with their namespace.
func ValidateClusterRoleBinding(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&b.ObjectMeta, false, validateName)
	errs = append(errs, validateRoleRef(b.RoleRef, []string{"ClusterRole"})...)
	return append(errs, validateSubjects(b.Subjects, false)...)
}

// ValidateClusterRoleBindingUpdate validates an update of a
// ClusterRoleBinding, whose roleRef never changes.
func ValidateClusterRoleBindingUpdate(b, old *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := ValidateClusterRoleBinding(b)
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, validateRoleRefUnchanged(b.RoleRef, old.RoleRef)...)
}

func validateRoleRef(ref rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	refPath := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(refPath.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	if !slices.Contains(kinds, ref.Kind) {
		errs = append(errs, field.NotSupported(refPath.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		return append(errs, field.Required(refPath.Child("name"), ""))
	}
	for _, msg := range validateName(ref.Name, false) {
		errs = append(errs, field.Invalid(refPath.Child("name"), ref.Name, msg))
	}
	return errs
}

func validateRoleRefUnchanged(ref, old rbacv1.RoleRef) field.ErrorList {
	if ref == old {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("roleRef"), ref, "cannot change roleRef")}
}

func validateSubjects(subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i := range subjects {
		errs = append(errs, validateSubject(&subjects[i], namespaced, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

// validateSubject checks a binding's subject: a named ServiceAccount (of the
// core group, with a namespace outside a namespaced binding), User or Group
// (of the RBAC group).
func validateSubject(s *rbacv1.Subject, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range apimachineryvalidation.ValidateServiceAccountName(s.Name, false) {
				errs = append(errs, field.Invalid(fldPath.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(fldPath.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}
