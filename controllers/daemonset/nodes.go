package daemonset

import (
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	schedcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

const (
	// TemplateGenerationLabel is the label daemon pods carry their
	// DaemonSet's template generation in (pod-template-generation).
	TemplateGenerationLabel = "pod-template-generation"
	// templateGenerationAnnotation is where the API server records a
	// DaemonSet's template generation.
	templateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

// defaultTolerations are the tolerations every daemon pod gets: it stays on
// not-ready and unreachable nodes (NoExecute, no tolerationSeconds) and
// ignores the pressure and unschedulable NoSchedule taints.
var defaultTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

// hostNetworkToleration is added to pods on the host network.
var hostNetworkToleration = corev1.Toleration{Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

// addDefaultTolerations adds (or replaces the same-key, same-effect
// versions of) the default tolerations in spec.
func addDefaultTolerations(spec *corev1.PodSpec) {
	add := append([]corev1.Toleration(nil), defaultTolerations...)
	if spec.HostNetwork {
		add = append(add, hostNetworkToleration)
	}
	for _, t := range add {
		addOrUpdateToleration(spec, t)
	}
}

func addOrUpdateToleration(spec *corev1.PodSpec, t corev1.Toleration) {
	for i := range spec.Tolerations {
		old := &spec.Tolerations[i]
		if old.Key == t.Key && old.Effect == t.Effect && old.Operator == t.Operator && old.Value == t.Value {
			if !equality.Semantic.DeepEqual(*old, t) {
				*old = t
			}
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, t)
}

// nodeAffinityFor is affinity with its required node affinity replaced by
// metadata.name In [node].
func nodeAffinityFor(affinity *corev1.Affinity, node string) *corev1.Affinity {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}
	out := affinity.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.NodeAffinity == nil {
		out.NodeAffinity = &corev1.NodeAffinity{}
	}
	out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return out
}

// targetNode is the node a daemon pod is on or meant for: its nodeName, or
// the single name its required node affinity names ("" when neither).
func targetNode(pod *corev1.Pod) string {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// templateGeneration is the DaemonSet's recorded template generation.
func templateGeneration(ds *appsv1.DaemonSet) *string {
	if v, ok := ds.Annotations[templateGenerationAnnotation]; ok {
		return &v
	}
	return nil
}

// podTemplate is the template daemon pods are created from: the DaemonSet's
// with the default tolerations, the generation and the hash labels.
func podTemplate(ds *appsv1.DaemonSet, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	addDefaultTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if g := templateGeneration(ds); g != nil {
		t.Labels[TemplateGenerationLabel] = *g
	}
	if hash != "" {
		t.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	}
	return t
}

// shouldRun is upstream's NodeShouldRunDaemonPod: run says a daemon pod
// should be placed on node, keep that an existing one may stay (it
// tolerates every NoExecute taint even if some NoSchedule one is not).
func shouldRun(ds *appsv1.DaemonSet, node *corev1.Node) (run, keep bool) {
	logger := klog.Background()
	spec := ds.Spec.Template.Spec.DeepCopy()
	addDefaultTolerations(spec)
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false
	}
	fits, err := nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity).Match(node)
	if err != nil || !fits {
		return false, false
	}
	_, untolerated := schedcorev1.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule
	}, false)
	if untolerated {
		_, noExec := schedcorev1.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, spec.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoExecute
		}, false)
		return false, !noExec
	}
	return true, true
}

func isPodReady(pod *corev1.Pod) bool {
	c := readyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// availableIn is how long until a ready pod has been ready minReadySeconds
// (0: available now; -1: not ready).
func availableIn(pod *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	if !isPodReady(pod) {
		return -1
	}
	if minReadySeconds == 0 {
		return 0
	}
	c := readyCondition(pod)
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if c.LastTransitionTime.IsZero() || !at.After(now) {
		return 0
	}
	return at.Sub(now)
}

func isAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return availableIn(pod, minReadySeconds, now) == 0
}

// isUpdated reports whether pod runs the DaemonSet's current template (by
// hash, or by the legacy template generation).
func isUpdated(pod *corev1.Pod, hash string, generation *string) bool {
	if hash != "" && pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
		return true
	}
	return generation != nil && pod.Labels[TemplateGenerationLabel] == *generation
}

// sortPods orders pods as upstream's podByCreationTimestampAndPhase: running
// before others, then oldest first, then by name.
func sortPods(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		ar, br := a.Status.Phase == corev1.PodRunning, b.Status.Phase == corev1.PodRunning
		if ar != br {
			return ar
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

func podKey(pod *corev1.Pod) string { return fmt.Sprintf("%s/%s", pod.Namespace, pod.Name) }
