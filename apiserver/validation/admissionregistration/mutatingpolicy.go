package admissionregistration

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
)

var (
	supportedPatchTypes = sets.New(admissionregistrationv1.PatchTypeApplyConfiguration, admissionregistrationv1.PatchTypeJSONPatch)
	// supportedMutatingOperations leaves out DELETE: there is no object to
	// mutate.
	supportedMutatingOperations = sets.New(
		admissionregistrationv1.OperationAll,
		admissionregistrationv1.Create,
		admissionregistrationv1.Update,
		admissionregistrationv1.Connect,
	)
)

// ValidateMutatingAdmissionPolicy validates a MutatingAdmissionPolicy to be created.
func ValidateMutatingAdmissionPolicy(obj *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	return append(validateMutatingAdmissionPolicy(obj, policyOptions{}), validateNotStaticName(obj.Name)...)
}

// ValidateMutatingAdmissionPolicyUpdate validates an update of a MutatingAdmissionPolicy.
func ValidateMutatingAdmissionPolicyUpdate(obj, old *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	stored := storedExpressions{
		matchConditions: matchConditionExpressions(old.Spec.MatchConditions),
		mutations:       sets.New[string](),
	}
	for _, m := range old.Spec.Mutations {
		if m.ApplyConfiguration != nil {
			stored.mutations.Insert(m.ApplyConfiguration.Expression)
		}
		if m.JSONPatch != nil {
			stored.mutations.Insert(m.JSONPatch.Expression)
		}
	}
	return validateMutatingAdmissionPolicy(obj, policyOptions{
		ignoreMatchConditions: matchConditionsUnchanged(obj.Spec.ParamKind, old.Spec.ParamKind, obj.Spec.MatchConditions, old.Spec.MatchConditions),
		stored:                stored,
	})
}

func validateMutatingAdmissionPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy, opts policyOptions) field.ErrorList {
	errs := validateClusterObjectMeta(&p.ObjectMeta)
	spec := &p.Spec
	fldPath := field.NewPath("spec")
	hasParams := spec.ParamKind != nil
	errs = append(errs, validatePolicyCommon(spec.FailurePolicy, spec.ParamKind, spec.MatchConstraints, fldPath)...)
	if spec.MatchConstraints != nil {
		errs = append(errs, validateMutatingOperations(spec.MatchConstraints.ResourceRules, fldPath.Child("matchConstraints", "resourceRules", "operations"))...)
	}
	if !opts.ignoreMatchConditions {
		errs = append(errs, validateMatchConditions(spec.MatchConditions, hasParams, opts.stored, fldPath.Child("matchConditions"))...)
	}

	compiler, err := newCompositionCompiler()
	if err != nil {
		return append(errs, field.InternalError(fldPath, err))
	}
	for i := range spec.Variables {
		errs = append(errs, validateVariable(compiler, &spec.Variables[i], hasParams, opts.stored, fldPath.Child("variables").Index(i))...)
	}
	if len(spec.Mutations) == 0 {
		errs = append(errs, field.Required(fldPath.Child("mutations"), "mutations must contain at least one item"))
	}
	for i := range spec.Mutations {
		errs = append(errs, validateMutation(compiler, &spec.Mutations[i], hasParams, opts.stored, fldPath.Child("mutations").Index(i))...)
	}
	policyPath := fldPath.Child("reinvocationPolicy")
	if spec.ReinvocationPolicy == "" {
		errs = append(errs, field.Required(policyPath, ""))
	} else if !supportedReinvocationPolicies.Has(spec.ReinvocationPolicy) {
		errs = append(errs, field.NotSupported(policyPath, spec.ReinvocationPolicy, sets.List(supportedReinvocationPolicies)))
	}
	return errs
}

// validateMutatingOperations rejects rules that match DELETE. As upstream,
// the error names the operations of all rules, without an index.
func validateMutatingOperations(rules []admissionregistrationv1.NamedRuleWithOperations, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, r := range rules {
		for _, op := range r.Operations {
			if !supportedMutatingOperations.Has(op) {
				errs = append(errs, field.NotSupported(fldPath, op, sets.List(supportedMutatingOperations)))
			}
		}
	}
	return errs
}

func validateMutation(compiler plugincel.Compiler, m *admissionregistrationv1.Mutation, hasParams bool, stored storedExpressions, fldPath *field.Path) field.ErrorList {
	applyPath, patchPath := fldPath.Child("applyConfiguration"), fldPath.Child("jsonPatch")
	var errs field.ErrorList
	switch m.PatchType {
	case "":
		errs = append(errs, field.Required(fldPath.Child("patchType"), ""))
	case admissionregistrationv1.PatchTypeJSONPatch:
		if m.JSONPatch == nil {
			errs = append(errs, field.Required(patchPath, "must be specified when patchType is JSONPatch"))
		} else {
			errs = append(errs, validatePatchExpression(compiler, m.JSONPatch.Expression, func(e string) plugincel.ExpressionAccessor {
				return &patch.JSONPatchCondition{Expression: e}
			}, hasParams, stored, patchPath.Child("expression"))...)
		}
		if m.ApplyConfiguration != nil {
			errs = append(errs, field.Invalid(applyPath, "{applyConfiguration}", "must not be specified when patchType is JSONPatch"))
		}
	case admissionregistrationv1.PatchTypeApplyConfiguration:
		if m.ApplyConfiguration == nil {
			errs = append(errs, field.Required(applyPath, "must be specified when patchType is ApplyConfiguration"))
		} else {
			errs = append(errs, validatePatchExpression(compiler, m.ApplyConfiguration.Expression, func(e string) plugincel.ExpressionAccessor {
				return &patch.ApplyConfigurationCondition{Expression: e}
			}, hasParams, stored, applyPath.Child("expression"))...)
		}
		if m.JSONPatch != nil {
			errs = append(errs, field.Invalid(patchPath, "{jsonPatch}", "must not be specified when patchType is ApplyConfiguration"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("patchType"), m.PatchType, sets.List(supportedPatchTypes)))
	}
	return errs
}

// validatePatchExpression compiles an applyConfiguration or jsonPatch
// expression, in the environment that also knows the patch types (Object,
// JSONPatch, ...).
func validatePatchExpression(compiler plugincel.Compiler, expression string, accessor func(string) plugincel.ExpressionAccessor, hasParams bool, stored storedExpressions, fldPath *field.Path) field.ErrorList {
	trimmed := strings.TrimSpace(expression)
	if trimmed == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return compileExpression(compiler, accessor(trimmed),
		plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true, HasPatchTypes: true},
		envFor(stored.mutations, expression), fldPath)
}

// ValidateMutatingAdmissionPolicyBinding validates a MutatingAdmissionPolicyBinding to be created.
func ValidateMutatingAdmissionPolicyBinding(obj *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	return append(validateMutatingAdmissionPolicyBinding(obj), validateNotStaticName(obj.Name)...)
}

// ValidateMutatingAdmissionPolicyBindingUpdate validates an update of a MutatingAdmissionPolicyBinding.
func ValidateMutatingAdmissionPolicyBindingUpdate(obj, _ *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	return validateMutatingAdmissionPolicyBinding(obj)
}

func validateMutatingAdmissionPolicyBinding(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	errs := validateClusterObjectMeta(&b.ObjectMeta)
	fldPath := field.NewPath("spec")
	errs = append(errs, validatePolicyName(b.Spec.PolicyName, fldPath.Child("policyName"))...)
	errs = append(errs, validateParamRef(b.Spec.ParamRef, fldPath.Child("paramRef"))...)
	errs = append(errs, validateMatchResources(b.Spec.MatchResources, fldPath.Child("matchResources"))...)
	if b.Spec.MatchResources != nil {
		errs = append(errs, validateMutatingOperations(b.Spec.MatchResources.ResourceRules, fldPath.Child("matchResources", "resourceRules", "operations"))...)
	}
	return errs
}
