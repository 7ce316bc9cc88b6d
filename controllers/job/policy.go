package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// matchPodFailurePolicy finds the first rule of policy that matches the
// failed pod. It returns the FailJob message (nil unless the rule is
// FailJob), whether the failure counts towards backoffLimit and
// backoffLimitPerIndex, and the action of the matching rule (nil if none
// matched, which counts the failure).
func matchPodFailurePolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) (*string, bool, *batchv1.PodFailurePolicyAction) {
	if policy == nil {
		return nil, true, nil
	}
	for i, rule := range policy.Rules {
		var message string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchExitCodes(rule.OnExitCodes, pod)
			if cs == nil {
				continue
			}
			message = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %v matching %v rule at index %d",
				cs.Name, pod.Namespace, pod.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case len(rule.OnPodConditions) > 0:
			c := matchPodConditions(rule.OnPodConditions, pod)
			if c == nil {
				continue
			}
			message = fmt.Sprintf("Pod %s/%s has condition %v matching %v rule at index %d",
				pod.Namespace, pod.Name, c.Type, rule.Action, i)
		default:
			continue
		}
		action := rule.Action
		switch action {
		case batchv1.PodFailurePolicyActionIgnore:
			return nil, false, &action
		case batchv1.PodFailurePolicyActionFailIndex:
			// FailIndex counts the failure; the index fails too.
			return nil, true, &action
		case batchv1.PodFailurePolicyActionCount:
			return nil, true, &action
		case batchv1.PodFailurePolicyActionFailJob:
			return &message, true, &action
		}
	}
	return nil, true, nil
}

// matchExitCodes returns the first terminated container (init containers
// first) whose non-zero exit code the requirement matches.
func matchExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, pod *corev1.Pod) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if req.ContainerName != nil && *req.ContainerName != cs.Name {
				continue
			}
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
				(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return cs
			}
		}
	}
	return nil
}

func matchPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, pod *corev1.Pod) *corev1.PodCondition {
	for _, p := range patterns {
		status := p.Status
		if status == "" {
			status = corev1.ConditionTrue
		}
		for i := range pod.Status.Conditions {
			c := &pod.Status.Conditions[i]
			if c.Type == p.Type && c.Status == status {
				return c
			}
		}
	}
	return nil
}

// matchSuccessPolicy reports whether the succeeded indexes meet one of the
// rules of an Indexed Job's successPolicy, with upstream's message.
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int32, succeeded intervals) (string, bool) {
	if policy == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		want := ptr.Deref(rule.SucceededCount, 0)
		if rule.SucceededIndexes != nil {
			ix := parseIntervals(*rule.SucceededIndexes, int(completions))
			n := ix.countIn(succeeded)
			if (rule.SucceededCount == nil && n == ix.total()) || (rule.SucceededCount != nil && n >= int(want)) {
				return fmt.Sprintf("Matched rules at index %d", i), true
			}
			continue
		}
		if rule.SucceededCount != nil && succeeded.total() >= int(want) {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}
