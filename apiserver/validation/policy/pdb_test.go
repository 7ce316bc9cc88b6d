package policy

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestValidatePodDisruptionBudgetUpdate(t *testing.T) {
	// The allowance covers expression values (matchLabels stay strict).
	badSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"bad value!"}}}}
	old := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: badSelector}}
	updated := old.DeepCopy()
	updated.Spec.MaxUnavailable = ptr.To(intstr.FromString("10%"))
	vt.Expect(t, ValidatePodDisruptionBudgetUpdate(updated, old))

	good := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	vt.Expect(t, ValidatePodDisruptionBudgetUpdate(updated, good),
		vt.Invalid("spec.selector.matchExpressions[0].values[0]", "a valid label must be an empty string"))
	// No metadata checks: the generic registry does them.
	vt.Expect(t, ValidatePodDisruptionBudget(&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "Not_A_DNS_Name"}}))
}

func TestValidatePodDisruptionBudgetStatusUpdate(t *testing.T) {
	old := &policyv1.PodDisruptionBudget{}
	updated := old.DeepCopy()
	updated.Status = policyv1.PodDisruptionBudgetStatus{
		DisruptionsAllowed: -1, ExpectedPods: -2,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: "Maybe", Reason: "SufficientPods"}},
	}
	vt.Expect(t, ValidatePodDisruptionBudgetStatusUpdate(updated, old),
		vt.Invalid("status.disruptionsAllowed", "must be greater than or equal to 0"),
		vt.Invalid("status.expectedPods", "must be greater than or equal to 0"),
		vt.NotSupported("status.conditions[0].status", ""),
		vt.Required("status.conditions[0].lastTransitionTime", ""),
	)
}
