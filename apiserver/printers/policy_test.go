package printers

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPodDisruptionBudgetRows(t *testing.T) {
	testRows(t, schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}, []rowCase{
		{
			name:  "min available",
			obj:   &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("pdb", day), Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(2))}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			cells: []any{"pdb", "2", "N/A", int64(1), "24h"},
		},
		{
			name:  "max unavailable percent",
			obj:   &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("pdb", day), Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("25%"))}},
			cells: []any{"pdb", "N/A", "25%", int64(0), "24h"},
		},
	})
}
