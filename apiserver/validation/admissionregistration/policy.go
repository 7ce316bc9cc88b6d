package admissionregistration

import (
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/client-go/util/jsonpath"
)

const (
	maxAuditAnnotations = 20
	// maxAuditAnnotationValueExpressionLength is below the 10kB limit of an
	// audit annotation's value, as an expression that concatenates strings
	// often produces a value longer than itself.
	maxAuditAnnotationValueExpressionLength = 5 * 1024
)

var (
	supportedValidationReasons = sets.New(metav1.StatusReasonForbidden, metav1.StatusReasonInvalid, metav1.StatusReasonRequestEntityTooLarge)
	supportedValidationActions = sets.New(admissionregistrationv1.Deny, admissionregistrationv1.Warn, admissionregistrationv1.Audit)
)

// policyOptions are what an update changes in a policy's validation.
type policyOptions struct {
	// ignoreMatchConditions skips match conditions that, with the param
	// kind they may use, did not change.
	ignoreMatchConditions bool
	stored                storedExpressions
}

// ValidateValidatingAdmissionPolicy validates a ValidatingAdmissionPolicy to be created.
func ValidateValidatingAdmissionPolicy(obj *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	errs := validateValidatingAdmissionPolicy(obj, policyOptions{})
	return append(errs, validateNotStaticName(obj.Name)...)
}

// ValidateValidatingAdmissionPolicyUpdate validates an update of a ValidatingAdmissionPolicy's spec.
func ValidateValidatingAdmissionPolicyUpdate(obj, old *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	stored := storedExpressions{
		matchConditions:       matchConditionExpressions(old.Spec.MatchConditions),
		validations:           sets.New[string](),
		messageExpressions:    sets.New[string](),
		auditAnnotationValues: sets.New[string](),
	}
	for _, v := range old.Spec.Validations {
		stored.validations.Insert(v.Expression)
		if v.MessageExpression != "" {
			stored.messageExpressions.Insert(v.MessageExpression)
		}
	}
	for _, a := range old.Spec.AuditAnnotations {
		stored.auditAnnotationValues.Insert(a.ValueExpression)
	}
	return validateValidatingAdmissionPolicy(obj, policyOptions{
		ignoreMatchConditions: matchConditionsUnchanged(obj.Spec.ParamKind, old.Spec.ParamKind, obj.Spec.MatchConditions, old.Spec.MatchConditions),
		stored:                stored,
	})
}

// ValidateValidatingAdmissionPolicyStatusUpdate validates an update of a ValidatingAdmissionPolicy's status.
func ValidateValidatingAdmissionPolicyStatusUpdate(obj, _ *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	fldPath := field.NewPath("status")
	var errs field.ErrorList
	if tc := obj.Status.TypeChecking; tc != nil {
		for i, w := range tc.ExpressionWarnings {
			p := fldPath.Child("typeChecking", "expressionWarnings").Index(i)
			if w.Warning == "" {
				errs = append(errs, field.Required(p.Child("warning"), ""))
			}
			errs = append(errs, validateFieldRef(w.FieldRef, p.Child("fieldRef"))...)
		}
	}
	return append(errs, metav1validation.ValidateConditions(obj.Status.Conditions, fldPath.Child("conditions"))...)
}

// validateFieldRef checks that a type-checking warning points at a JSONPath.
func validateFieldRef(ref string, fldPath *field.Path) field.ErrorList {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if err := jsonpath.New("spec").Parse("{" + ref + "}"); err != nil {
		return field.ErrorList{field.Invalid(fldPath, ref, fmt.Sprintf("invalid JSONPath: %v", err))}
	}
	return nil
}

func matchConditionsUnchanged(kind, oldKind *admissionregistrationv1.ParamKind, conditions, oldConditions []admissionregistrationv1.MatchCondition) bool {
	return equality.Semantic.DeepEqual(kind, oldKind) && equality.Semantic.DeepEqual(conditions, oldConditions)
}

func validateValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy, opts policyOptions) field.ErrorList {
	errs := validateClusterObjectMeta(&p.ObjectMeta)
	spec := &p.Spec
	fldPath := field.NewPath("spec")
	hasParams := spec.ParamKind != nil
	errs = append(errs, validatePolicyCommon(spec.FailurePolicy, spec.ParamKind, spec.MatchConstraints, fldPath)...)
	if !opts.ignoreMatchConditions {
		errs = append(errs, validateMatchConditions(spec.MatchConditions, hasParams, opts.stored, fldPath.Child("matchConditions"))...)
	}

	// Without variables the shared compiler does; with them, each policy
	// needs its own to hold them.
	compiler := sharedCompiler()
	if len(spec.Variables) > 0 {
		composition, err := newCompositionCompiler()
		if err != nil {
			return append(errs, field.InternalError(fldPath.Child("variables"), err))
		}
		for i := range spec.Variables {
			errs = append(errs, validateVariable(composition, &spec.Variables[i], hasParams, opts.stored, fldPath.Child("variables").Index(i))...)
		}
		compiler = composition
	}

	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		const msg = "validations or auditAnnotations must contain at least one item"
		return append(errs, field.Required(fldPath.Child("validations"), msg), field.Required(fldPath.Child("auditAnnotations"), msg))
	}
	for i := range spec.Validations {
		errs = append(errs, validateValidation(compiler, &spec.Validations[i], hasParams, opts.stored, fldPath.Child("validations").Index(i))...)
	}
	if len(spec.AuditAnnotations) > maxAuditAnnotations {
		errs = append(errs, field.Invalid(fldPath.Child("auditAnnotations"), spec.AuditAnnotations, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := sets.New[string]()
	for i := range spec.AuditAnnotations {
		a := &spec.AuditAnnotations[i]
		pa := fldPath.Child("auditAnnotations").Index(i)
		errs = append(errs, validateAuditAnnotation(compiler, p.Name, a, hasParams, opts.stored, pa)...)
		if keys.Has(a.Key) {
			errs = append(errs, field.Duplicate(pa.Child("key"), a.Key))
		}
		keys.Insert(a.Key)
	}
	return errs
}

// validatePolicyCommon validates the failurePolicy, paramKind and
// matchConstraints that both kinds of policy have.
func validatePolicyCommon(failurePolicy *admissionregistrationv1.FailurePolicyType, paramKind *admissionregistrationv1.ParamKind, constraints *admissionregistrationv1.MatchResources, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if failurePolicy == nil {
		errs = append(errs, field.Required(fldPath.Child("failurePolicy"), ""))
	} else if !supportedFailurePolicies.Has(*failurePolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("failurePolicy"), *failurePolicy, sets.List(supportedFailurePolicies)))
	}
	if paramKind != nil {
		errs = append(errs, validateParamKind(paramKind, fldPath.Child("paramKind"))...)
	}
	if constraints == nil {
		return append(errs, field.Required(fldPath.Child("matchConstraints"), ""))
	}
	errs = append(errs, validateMatchResources(constraints, fldPath.Child("matchConstraints"))...)
	// The resource rules give the expressions their types.
	if len(constraints.ResourceRules) == 0 {
		errs = append(errs, field.Required(fldPath.Child("matchConstraints", "resourceRules"), ""))
	}
	return errs
}

func validateVariable(compiler *plugincel.CompositedCompiler, v *admissionregistrationv1.Variable, hasParams bool, stored storedExpressions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if isBlank(v.Name) {
		errs = append(errs, field.Required(fldPath.Child("name"), "name is not specified"))
	} else if !isCELIdentifier(v.Name) {
		errs = append(errs, field.Invalid(fldPath.Child("name"), v.Name, "must be a valid CEL identifier"))
	}
	if isBlank(v.Expression) {
		return append(errs, field.Required(fldPath.Child("expression"), "expression is not specified"))
	}
	variable := &validating.Variable{Name: v.Name, Expression: v.Expression}
	// As upstream, a variable counts as stored when a validation of the old
	// policy had its expression.
	result := compiler.CompileAndStoreVariable(variable, plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, envFor(stored.validations, v.Expression))
	if result.Error != nil {
		errs = append(errs, celFieldError(fldPath.Child("expression"), v.Expression, result.Error))
	}
	return errs
}

func validateValidation(compiler plugincel.Compiler, v *admissionregistrationv1.Validation, hasParams bool, stored storedExpressions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if isBlank(v.Expression) {
		errs = append(errs, field.Required(fldPath.Child("expression"), "expression is not specified"))
	} else {
		errs = append(errs, compileExpression(compiler, &validating.ValidationCondition{Expression: v.Expression},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
			envFor(stored.validations, v.Expression), fldPath.Child("expression"))...)
	}
	if v.MessageExpression != "" {
		if isBlank(v.MessageExpression) {
			errs = append(errs, field.Invalid(fldPath.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
		} else {
			// Untrimmed, so that the compiler's columns point into the
			// field as written.
			errs = append(errs, compileExpression(compiler, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression},
				plugincel.OptionalVariableDeclarations{HasParams: hasParams},
				envFor(stored.messageExpressions, v.MessageExpression), fldPath.Child("messageExpression"))...)
		}
	}
	switch msg := strings.TrimSpace(v.Message); {
	case v.Message != "" && msg == "":
		errs = append(errs, field.Invalid(fldPath.Child("message"), v.Message, "must be non-empty if specified"))
	case lineBreaks.MatchString(msg):
		errs = append(errs, field.Invalid(fldPath.Child("message"), v.Message, "must not contain line breaks"))
	}
	if v.Reason != nil && !supportedValidationReasons.Has(*v.Reason) {
		errs = append(errs, field.NotSupported(fldPath.Child("reason"), *v.Reason, sets.List(supportedValidationReasons)))
	}
	return errs
}

func validateAuditAnnotation(compiler plugincel.Compiler, policyName string, a *admissionregistrationv1.AuditAnnotation, hasParams bool, stored storedExpressions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	// The annotation is recorded as "<policy name>/<key>".
	if policyName != "" {
		errs = append(errs, validateQualifiedName(policyName+"/"+a.Key, fldPath.Child("key"))...)
	} else {
		errs = append(errs, field.Invalid(fldPath.Child("key"), a.Key, "requires metadata.name be non-empty"))
	}
	valuePath := fldPath.Child("valueExpression")
	switch expression := strings.TrimSpace(a.ValueExpression); {
	case expression == "":
		errs = append(errs, field.Required(valuePath, "valueExpression is not specified"))
	case len(expression) > maxAuditAnnotationValueExpressionLength:
		errs = append(errs, field.Required(valuePath, fmt.Sprintf("must not exceed %d bytes in length", maxAuditAnnotationValueExpressionLength)))
	default:
		result := compiler.CompileCELExpression(&validating.AuditAnnotationCondition{ValueExpression: expression},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
			envFor(stored.auditAnnotationValues, a.ValueExpression))
		if result.Error != nil {
			// Reported with the expression as written, not trimmed.
			errs = append(errs, celFieldError(valuePath, a.ValueExpression, result.Error))
		}
	}
	return errs
}

// ValidateValidatingAdmissionPolicyBinding validates a ValidatingAdmissionPolicyBinding to be created.
func ValidateValidatingAdmissionPolicyBinding(obj *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	return append(validateValidatingAdmissionPolicyBinding(obj), validateNotStaticName(obj.Name)...)
}

// ValidateValidatingAdmissionPolicyBindingUpdate validates an update of a ValidatingAdmissionPolicyBinding.
func ValidateValidatingAdmissionPolicyBindingUpdate(obj, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	return validateValidatingAdmissionPolicyBinding(obj)
}

func validateValidatingAdmissionPolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	errs := validateClusterObjectMeta(&b.ObjectMeta)
	fldPath := field.NewPath("spec")
	errs = append(errs, validatePolicyName(b.Spec.PolicyName, fldPath.Child("policyName"))...)
	errs = append(errs, validateParamRef(b.Spec.ParamRef, fldPath.Child("paramRef"))...)
	errs = append(errs, validateMatchResources(b.Spec.MatchResources, fldPath.Child("matchResources"))...)
	return append(errs, validateValidationActions(b.Spec.ValidationActions, fldPath.Child("validationActions"))...)
}

func validateValidationActions(actions []admissionregistrationv1.ValidationAction, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[admissionregistrationv1.ValidationAction]()
	for i, a := range actions {
		if !supportedValidationActions.Has(a) {
			errs = append(errs, field.NotSupported(fldPath.Index(i), a, sets.List(supportedValidationActions)))
		}
		if seen.Has(a) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), a))
		}
		seen.Insert(a)
	}
	if seen.HasAll(admissionregistrationv1.Deny, admissionregistrationv1.Warn) {
		errs = append(errs, field.Invalid(fldPath, actions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if len(seen) == 0 {
		errs = append(errs, field.Required(fldPath, "at least one validation action is required"))
	}
	return errs
}
