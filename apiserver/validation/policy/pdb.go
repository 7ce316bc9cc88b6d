package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/apps"
)

var supportedUnhealthyPodEvictionPolicies = sets.New(policyv1.IfHealthyBudget, policyv1.AlwaysAllow)

// ValidatePodDisruptionBudget validates a new PodDisruptionBudget: at most
// one of minAvailable and maxUnavailable, each a count or a percentage up
// to 100%, a valid selector, and a known unhealthy pod eviction policy.
func ValidatePodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	return validateSpec(&pdb.Spec, false, field.NewPath("spec"))
}

// ValidatePodDisruptionBudgetUpdate validates an update of a
// PodDisruptionBudget as a new one, keeping a stored selector whose values
// are not label values.
func ValidatePodDisruptionBudgetUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	allowInvalid := old.Spec.Selector != nil &&
		len(metav1validation.ValidateLabelSelector(old.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	return validateSpec(&pdb.Spec, allowInvalid, field.NewPath("spec"))
}

// ValidatePodDisruptionBudgetStatusUpdate validates an update through
// poddisruptionbudgets/status: valid conditions and counts not negative.
func ValidatePodDisruptionBudgetStatusUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	p := field.NewPath("status")
	s := &pdb.Status
	errs := metav1validation.ValidateConditions(s.Conditions, p.Child("conditions"))
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"disruptionsAllowed", s.DisruptionsAllowed}, {"currentHealthy", s.CurrentHealthy},
		{"desiredHealthy", s.DesiredHealthy}, {"expectedPods", s.ExpectedPods},
	} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(f.value), p.Child(f.name))...)
	}
	return errs
}

func validateSpec(spec *policyv1.PodDisruptionBudgetSpec, allowInvalidLabelValues bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		errs = append(errs, apps.ValidatePositiveIntOrPercent(*spec.MinAvailable, p.Child("minAvailable"))...)
		errs = append(errs, apps.IsNotMoreThan100Percent(*spec.MinAvailable, p.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		errs = append(errs, apps.ValidatePositiveIntOrPercent(*spec.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, apps.IsNotMoreThan100Percent(*spec.MaxUnavailable, p.Child("maxUnavailable"))...)
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector,
		metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValues}, p.Child("selector"))...)
	if policy := spec.UnhealthyPodEvictionPolicy; policy != nil && !supportedUnhealthyPodEvictionPolicies.Has(*policy) {
		errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), *policy, sets.List(supportedUnhealthyPodEvictionPolicies)))
	}
	return errs
}
