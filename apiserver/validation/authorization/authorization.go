package authorization

import (
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateSubjectAccessReview validates a SubjectAccessReview: empty
// metadata, exactly one of resourceAttributes and nonResourceAttributes,
// a user or a group, and well-formed selectors.
func ValidateSubjectAccessReview(r *authorizationv1.SubjectAccessReview) field.ErrorList {
	errs := validateSpec(&r.Spec, field.NewPath("spec"))
	return append(errs, validateEmptyMetadata(r.ObjectMeta, false)...)
}

// ValidateSelfSubjectAccessReview validates a SelfSubjectAccessReview:
// empty metadata, exactly one of resourceAttributes and
// nonResourceAttributes, and well-formed selectors.
func ValidateSelfSubjectAccessReview(r *authorizationv1.SelfSubjectAccessReview) field.ErrorList {
	errs := validateOneKind(r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes, field.NewPath("spec"))
	errs = append(errs, validateResourceAttributes(r.Spec.ResourceAttributes, field.NewPath("spec", "resourceAttributes"))...)
	return append(errs, validateEmptyMetadata(r.ObjectMeta, false)...)
}

// ValidateLocalSubjectAccessReview validates a LocalSubjectAccessReview: a
// SubjectAccessReview whose metadata holds only a namespace, whose
// resourceAttributes are in that namespace and which has no
// nonResourceAttributes.
func ValidateLocalSubjectAccessReview(r *authorizationv1.LocalSubjectAccessReview) field.ErrorList {
	errs := validateSpec(&r.Spec, field.NewPath("spec"))
	errs = append(errs, validateEmptyMetadata(r.ObjectMeta, true)...)
	if r.Spec.ResourceAttributes != nil && r.Spec.ResourceAttributes.Namespace != r.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "resourceAttributes", "namespace"), r.Spec.ResourceAttributes.Namespace, "must match metadata.namespace"))
	}
	if r.Spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "nonResourceAttributes"), r.Spec.NonResourceAttributes, "disallowed on this kind of request"))
	}
	return errs
}

// ValidateSelfSubjectRulesReview validates a SelfSubjectRulesReview.
// Upstream has no static rules for it: its handler answers an empty
// spec.namespace with 400 Bad Request ("no namespace on request"), which
// is no field error. So it finds none; it exists so that the handler
// validates every review kind alike.
func ValidateSelfSubjectRulesReview(*authorizationv1.SelfSubjectRulesReview) field.ErrorList {
	return nil
}

func validateSpec(spec *authorizationv1.SubjectAccessReviewSpec, fldPath *field.Path) field.ErrorList {
	errs := validateOneKind(spec.ResourceAttributes, spec.NonResourceAttributes, fldPath)
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("user"), spec.User, `at least one of user or group must be specified`))
	}
	return append(errs, validateResourceAttributes(spec.ResourceAttributes, fldPath.Child("resourceAttributes"))...)
}

// validateOneKind checks that exactly one kind of attributes is set.
func validateOneKind(res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if res != nil && nonRes != nil {
		errs = append(errs, field.Invalid(fldPath.Child("nonResourceAttributes"), nonRes, `cannot be specified in combination with resourceAttributes`))
	}
	if res == nil && nonRes == nil {
		errs = append(errs, field.Invalid(fldPath.Child("resourceAttributes"), nonRes, `exactly one of nonResourceAttributes or resourceAttributes must be specified`))
	}
	return errs
}

// validateEmptyMetadata checks that a review's metadata is empty but for
// managed fields and, when namespaced, the namespace.
func validateEmptyMetadata(meta metav1.ObjectMeta, namespaced bool) field.ErrorList {
	rest := meta
	rest.ManagedFields = nil
	msg := `must be empty`
	if namespaced {
		rest.Namespace = ""
		msg = `must be empty except for namespace`
	}
	if apiequality.Semantic.DeepEqual(metav1.ObjectMeta{}, rest) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata"), meta, msg)}
}

func validateResourceAttributes(attrs *authorizationv1.ResourceAttributes, fldPath *field.Path) field.ErrorList {
	if attrs == nil {
		return nil
	}
	var errs field.ErrorList
	if s := attrs.FieldSelector; s != nil {
		path := fldPath.Child("fieldSelector")
		errs = append(errs, validateSelector(s.RawSelector, len(s.Requirements), path)...)
		// Unknown operators pass, so that newer clients can still be
		// answered.
		opts := metav1validation.FieldSelectorValidationOptions{AllowUnknownOperatorInRequirement: true}
		for i, req := range s.Requirements {
			errs = append(errs, metav1validation.ValidateFieldSelectorRequirement(req, opts, path.Child("requirements").Index(i))...)
		}
	}
	if s := attrs.LabelSelector; s != nil {
		path := fldPath.Child("labelSelector")
		errs = append(errs, validateSelector(s.RawSelector, len(s.Requirements), path)...)
		opts := metav1validation.LabelSelectorValidationOptions{AllowUnknownOperatorInRequirement: true}
		for i, req := range s.Requirements {
			errs = append(errs, metav1validation.ValidateLabelSelectorRequirement(req, opts, path.Child("requirements").Index(i))...)
		}
	}
	return errs
}

// validateSelector checks that a selector attribute at fldPath has either
// a raw selector or requirements.
func validateSelector(raw string, requirements int, fldPath *field.Path) field.ErrorList {
	switch {
	case raw != "" && requirements > 0:
		return field.ErrorList{field.Invalid(fldPath.Child("rawSelector"), raw, "may not specified at the same time as requirements")}
	case raw == "" && requirements == 0:
		return field.ErrorList{field.Required(fldPath.Child("requirements"), fmt.Sprintf("when %s is specified, requirements or rawSelector is required", fldPath))}
	}
	return nil
}
