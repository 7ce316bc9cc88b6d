package printers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestSchedulingRows(t *testing.T) {
	testRows(t, schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}, []rowCase{
		{
			name:  "system",
			obj:   &schedulingv1.PriorityClass{ObjectMeta: objMeta("system-node-critical", day), Value: 2000001000, PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority)},
			cells: []any{"system-node-critical", int64(2000001000), false, "24h", "PreemptLowerPriority"},
		},
		{name: "global default", obj: &schedulingv1.PriorityClass{ObjectMeta: objMeta("low", day), Value: -5, GlobalDefault: true}, cells: []any{"low", int64(-5), true, "24h", ""}},
	})
	testRows(t, schema.GroupResource{Group: "node.k8s.io", Resource: "runtimeclasses"}, []rowCase{
		{name: "gvisor", obj: &nodev1.RuntimeClass{ObjectMeta: objMeta("gvisor", day), Handler: "runsc"}, cells: []any{"gvisor", "runsc", "24h"}},
	})
}
