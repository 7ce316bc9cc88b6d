package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditionTaints maps a node condition in a status to the NoSchedule taint
// it implies (upstream's nodeConditionToTaintKeyStatusMap).
var conditionTaints = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
}

// managedNoScheduleKeys are the NoSchedule taint keys this controller owns.
var managedNoScheduleKeys = func() map[string]bool {
	m := map[string]bool{corev1.TaintNodeUnschedulable: true}
	for _, byStatus := range conditionTaints {
		for _, k := range byStatus {
			m[k] = true
		}
	}
	return m
}()

// wantNoSchedule is the set of NoSchedule taint keys the node's conditions
// and spec.unschedulable call for.
func wantNoSchedule(node *corev1.Node) map[string]bool {
	want := map[string]bool{}
	for _, c := range node.Status.Conditions {
		if k, ok := conditionTaints[c.Type][c.Status]; ok {
			want[k] = true
		}
	}
	if node.Spec.Unschedulable {
		want[corev1.TaintNodeUnschedulable] = true
	}
	return want
}

// wantNoExecute is the NoExecute taint key the Ready condition calls for:
// not-ready when False, unreachable when Unknown, none when True or when
// the node has no Ready condition yet (it gets an Unknown one once its
// startup grace period is over).
func wantNoExecute(node *corev1.Node) string {
	if nodeCondition(&node.Status, corev1.NodeReady) == nil {
		return ""
	}
	switch readyStatus(node) {
	case corev1.ConditionTrue:
		return ""
	case corev1.ConditionFalse:
		return corev1.TaintNodeNotReady
	default:
		return corev1.TaintNodeUnreachable
	}
}

// currentNoExecute is the node's NoExecute not-ready/unreachable taint key,
// "" when it has none.
func currentNoExecute(taints []corev1.Taint) string {
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute && (t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable) {
			return t.Key
		}
	}
	return ""
}

// syncTaints returns the node's taints with the managed NoSchedule taints
// set to wantNS and the managed NoExecute taint set to wantNE ("" none),
// keeping every other taint (and managed ones already right, with their
// timeAdded) in place; changed is false when nothing differs.
func syncTaints(taints []corev1.Taint, wantNS map[string]bool, wantNE string, now time.Time) (out []corev1.Taint, changed bool) {
	haveNS := map[string]bool{}
	haveNE := false
	for _, t := range taints {
		switch {
		case t.Effect == corev1.TaintEffectNoSchedule && managedNoScheduleKeys[t.Key]:
			if !wantNS[t.Key] || haveNS[t.Key] {
				changed = true
				continue
			}
			haveNS[t.Key] = true
		case t.Effect == corev1.TaintEffectNoExecute && (t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable):
			if t.Key != wantNE || haveNE {
				changed = true
				continue
			}
			haveNE = true
		}
		out = append(out, t)
	}
	for _, k := range sortedKeys(wantNS) {
		if !haveNS[k] {
			out = append(out, corev1.Taint{Key: k, Effect: corev1.TaintEffectNoSchedule})
			changed = true
		}
	}
	if wantNE != "" && !haveNE {
		ts := metav1.NewTime(now)
		out = append(out, corev1.Taint{Key: wantNE, Effect: corev1.TaintEffectNoExecute, TimeAdded: &ts})
		changed = true
	}
	return out, changed
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
