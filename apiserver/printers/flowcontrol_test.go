package printers

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestFlowControlRows(t *testing.T) {
	fs := &flowcontrolv1.FlowSchema{ObjectMeta: objMeta("system-leader-election", day), Spec: flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "leader-election"}, MatchingPrecedence: 100,
		DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
	}, Status: flowcontrolv1.FlowSchemaStatus{Conditions: []flowcontrolv1.FlowSchemaCondition{{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionFalse}}}}
	testRows(t, schema.GroupResource{Group: "flowcontrol.apiserver.k8s.io", Resource: "flowschemas"}, []rowCase{
		{name: "by user", obj: fs, cells: []any{"system-leader-election", "leader-election", int64(100), "ByUser", "24h", "False"}},
		{name: "no status", obj: &flowcontrolv1.FlowSchema{ObjectMeta: objMeta("f", day)}, cells: []any{"f", "", int64(0), "<none>", "24h", "?"}},
	})
	limited := func(shares *int32, queuing *flowcontrolv1.QueuingConfiguration) *flowcontrolv1.PriorityLevelConfiguration {
		response := flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}
		if queuing != nil {
			response = flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: queuing}
		}
		return &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: objMeta("workload-low", day), Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: shares, LimitResponse: response}}}
	}
	testRows(t, schema.GroupResource{Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"}, []rowCase{
		{name: "queuing", obj: limited(ptr.To[int32](100), &flowcontrolv1.QueuingConfiguration{Queues: 128, HandSize: 6, QueueLengthLimit: 50}), cells: []any{"workload-low", "Limited", int32(100), int32(128), int32(6), int32(50), "24h"}},
		{name: "rejecting", obj: limited(nil, nil), cells: []any{"workload-low", "Limited", int32(0), "<none>", "<none>", "<none>", "24h"}},
		{
			name:  "exempt",
			obj:   &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "exempt", CreationTimestamp: ago(day)}, Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt}},
			cells: []any{"exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "24h"},
		},
	})
}
