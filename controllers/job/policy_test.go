package job

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func failedPod(exit map[string]int32, conds ...corev1.PodConditionType) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodFailed}}
	for name, code := range exit {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}},
		})
	}
	for _, c := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return p
}

func TestMatchPodFailurePolicy(t *testing.T) {
	exitRule := func(action batchv1.PodFailurePolicyAction, op batchv1.PodFailurePolicyOnExitCodesOperator, container *string, codes ...int32) batchv1.PodFailurePolicyRule {
		return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: container, Operator: op, Values: codes}}
	}
	condRule := func(action batchv1.PodFailurePolicyAction, t corev1.PodConditionType) batchv1.PodFailurePolicyRule {
		return batchv1.PodFailurePolicyRule{Action: action, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: t, Status: corev1.ConditionTrue}}}
	}
	tests := []struct {
		name      string
		rules     []batchv1.PodFailurePolicyRule
		pod       *corev1.Pod
		wantMsg   string
		wantCount bool
		wantAct   *batchv1.PodFailurePolicyAction
	}{
		{
			name:      "FailJob on exit code In",
			rules:     []batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpIn, nil, 42)},
			pod:       failedPod(map[string]int32{"main": 42}),
			wantMsg:   "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0",
			wantCount: true, wantAct: ptr.To(batchv1.PodFailurePolicyActionFailJob),
		},
		{
			name:      "exit code not in list: no match counts",
			rules:     []batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpIn, nil, 42)},
			pod:       failedPod(map[string]int32{"main": 1}),
			wantCount: true,
		},
		{
			name:      "NotIn matches other codes",
			rules:     []batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpNotIn, nil, 1, 2)},
			pod:       failedPod(map[string]int32{"main": 3}),
			wantMsg:   "Container main for pod ns/p failed with exit code 3 matching FailJob rule at index 0",
			wantCount: true, wantAct: ptr.To(batchv1.PodFailurePolicyActionFailJob),
		},
		{
			name:      "exit code 0 never matches NotIn",
			rules:     []batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpNotIn, nil, 1)},
			pod:       failedPod(map[string]int32{"main": 0}),
			wantCount: true,
		},
		{
			name:      "container name restricts",
			rules:     []batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyOnExitCodesOpIn, ptr.To("side"), 42)},
			pod:       failedPod(map[string]int32{"main": 42}),
			wantCount: true,
		},
		{
			name:      "Ignore on DisruptionTarget does not count",
			rules:     []batchv1.PodFailurePolicyRule{condRule(batchv1.PodFailurePolicyActionIgnore, corev1.DisruptionTarget)},
			pod:       failedPod(nil, corev1.DisruptionTarget),
			wantCount: false, wantAct: ptr.To(batchv1.PodFailurePolicyActionIgnore),
		},
		{
			name: "first matching rule wins",
			rules: []batchv1.PodFailurePolicyRule{
				exitRule(batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyOnExitCodesOpIn, nil, 5),
				condRule(batchv1.PodFailurePolicyActionFailJob, corev1.DisruptionTarget),
			},
			pod:       failedPod(map[string]int32{"main": 5}, corev1.DisruptionTarget),
			wantCount: true, wantAct: ptr.To(batchv1.PodFailurePolicyActionCount),
		},
		{
			name:      "FailJob on condition message",
			rules:     []batchv1.PodFailurePolicyRule{condRule(batchv1.PodFailurePolicyActionFailJob, corev1.DisruptionTarget)},
			pod:       failedPod(nil, corev1.DisruptionTarget),
			wantMsg:   "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0",
			wantCount: true, wantAct: ptr.To(batchv1.PodFailurePolicyActionFailJob),
		},
		{
			name:      "FailIndex counts",
			rules:     []batchv1.PodFailurePolicyRule{exitRule(batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyOnExitCodesOpIn, nil, 7)},
			pod:       failedPod(map[string]int32{"main": 7}),
			wantCount: true, wantAct: ptr.To(batchv1.PodFailurePolicyActionFailIndex),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, count, act := matchPodFailurePolicy(&batchv1.PodFailurePolicy{Rules: tt.rules}, tt.pod)
			if got := ptr.Deref(msg, ""); got != tt.wantMsg {
				t.Errorf("message = %q, want %q", got, tt.wantMsg)
			}
			if count != tt.wantCount {
				t.Errorf("count = %v, want %v", count, tt.wantCount)
			}
			if !ptr.Equal(act, tt.wantAct) {
				t.Errorf("action = %v, want %v", ptr.Deref(act, ""), ptr.Deref(tt.wantAct, ""))
			}
		})
	}
}

func TestMatchSuccessPolicy(t *testing.T) {
	tests := []struct {
		name      string
		rules     []batchv1.SuccessPolicyRule
		succeeded string
		wantMsg   string
	}{
		{"indexes all succeeded", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}}, "0-3", "Matched rules at index 0"},
		{"indexes partly succeeded", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}}, "0,2", ""},
		{"count among indexes", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,4-6"), SucceededCount: ptr.To[int32](2)}}, "1,4,6", "Matched rules at index 0"},
		{"count among indexes not reached", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,4-6"), SucceededCount: ptr.To[int32](2)}}, "1-3,5", ""},
		{"count alone, second rule", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("9")}, {SucceededCount: ptr.To[int32](3)}}, "0,2,7", "Matched rules at index 1"},
		{"nothing succeeded", []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](0)}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, met := matchSuccessPolicy(&batchv1.SuccessPolicy{Rules: tt.rules}, 10, parseIntervals(tt.succeeded, 10))
			if msg != tt.wantMsg || met != (tt.wantMsg != "") {
				t.Errorf("got (%q, %v), want %q", msg, met, tt.wantMsg)
			}
		})
	}
}
