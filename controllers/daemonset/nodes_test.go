package daemonset

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func dsWith(mutate func(*corev1.PodSpec)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "ns"}}
	ds.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c"}}
	if mutate != nil {
		mutate(&ds.Spec.Template.Spec)
	}
	return ds
}

func node(name string, lbls map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Spec: corev1.NodeSpec{Taints: taints}}
}

func TestShouldRun(t *testing.T) {
	noSched := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	noExec := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}
	for _, tc := range []struct {
		name      string
		ds        *appsv1.DaemonSet
		node      *corev1.Node
		run, keep bool
	}{
		{"plain", dsWith(nil), node("n", nil), true, true},
		{"nodeSelector match", dsWith(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"r": "w"} }), node("n", map[string]string{"r": "w"}), true, true},
		{"nodeSelector mismatch", dsWith(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"r": "w"} }), node("n", nil), false, false},
		{"nodeName other", dsWith(func(s *corev1.PodSpec) { s.NodeName = "m" }), node("n", nil), false, false},
		{"affinity mismatch", dsWith(func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}},
			}}}
		}), node("n", map[string]string{"zone": "b"}), false, false},
		{"NoSchedule untolerated keeps running pods", dsWith(nil), node("n", nil, noSched), false, true},
		{"NoExecute untolerated", dsWith(nil), node("n", nil, noExec), false, false},
		{"tolerated", dsWith(func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}), node("n", nil, noSched, noExec), true, true},
		{"default tolerations: unschedulable, pressure", dsWith(nil), node("n", nil,
			corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}), true, true},
		{"not-ready NoSchedule is not tolerated", dsWith(nil), node("n", nil, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"network-unavailable only for hostNetwork", dsWith(nil), node("n", nil, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"network-unavailable hostNetwork", dsWith(func(s *corev1.PodSpec) { s.HostNetwork = true }), node("n", nil, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, keep := shouldRun(tc.ds, tc.node)
			if run != tc.run || keep != tc.keep {
				t.Errorf("shouldRun = %v, %v; want %v, %v", run, keep, tc.run, tc.keep)
			}
		})
	}
}

func TestDefaultTolerations(t *testing.T) {
	spec := &corev1.PodSpec{Tolerations: []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: "mine", Operator: corev1.TolerationOpExists},
	}}
	addDefaultTolerations(spec)
	addDefaultTolerations(spec)
	if len(spec.Tolerations) != len(defaultTolerations)+1 {
		t.Errorf("tolerations %v", spec.Tolerations)
	}
	host := &corev1.PodSpec{HostNetwork: true}
	addDefaultTolerations(host)
	if last := host.Tolerations[len(host.Tolerations)-1]; last.Key != corev1.TaintNodeNetworkUnavailable || len(host.Tolerations) != len(defaultTolerations)+1 {
		t.Errorf("hostNetwork tolerations %v", host.Tolerations)
	}
}

func TestNodeAffinityAndTarget(t *testing.T) {
	orig := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution:  &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}}},
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1}},
	}}
	for _, tc := range []struct {
		name string
		in   *corev1.Affinity
	}{{"nil", nil}, {"empty", &corev1.Affinity{}}, {"replaces required", orig}} {
		got := nodeAffinityFor(tc.in, "n1")
		terms := got.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchExpressions) != 0 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Values[0] != "n1" {
			t.Errorf("%s: terms %+v", tc.name, terms)
		}
		if tc.in == orig && len(got.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Errorf("preferred terms dropped")
		}
		if p := (&corev1.Pod{Spec: corev1.PodSpec{Affinity: got}}); targetNode(p) != "n1" {
			t.Errorf("%s: target %q", tc.name, targetNode(p))
		}
	}
	if len(orig.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields) != 0 {
		t.Errorf("input mutated")
	}
	if targetNode(&corev1.Pod{Spec: corev1.PodSpec{NodeName: "bound"}}) != "bound" || targetNode(&corev1.Pod{}) != "" {
		t.Errorf("targetNode of bound/empty pod")
	}
}

func TestPodTemplateAndUpdated(t *testing.T) {
	ds := dsWith(nil)
	ds.Annotations = map[string]string{templateGenerationAnnotation: "3"}
	tmpl := podTemplate(ds, "h1")
	if tmpl.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != "h1" || tmpl.Labels[TemplateGenerationLabel] != "3" || len(tmpl.Spec.Tolerations) != len(defaultTolerations) {
		t.Errorf("template %+v", tmpl)
	}
	if ds.Spec.Template.Labels != nil || len(ds.Spec.Template.Spec.Tolerations) != 0 {
		t.Errorf("DaemonSet mutated")
	}
	gen := "3"
	for _, tc := range []struct {
		lbls map[string]string
		want bool
	}{
		{map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: "h1"}, true},
		{map[string]string{TemplateGenerationLabel: "3"}, true},
		{map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: "h0", TemplateGenerationLabel: "2"}, false},
	} {
		if got := isUpdated(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: tc.lbls}}, "h1", &gen); got != tc.want {
			t.Errorf("isUpdated(%v) = %v", tc.lbls, got)
		}
	}
}

func TestSortPods(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	t1 := metav1.NewTime(time.Unix(2000, 0))
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "pending-old", CreationTimestamp: t0}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
		{ObjectMeta: metav1.ObjectMeta{Name: "running-new", CreationTimestamp: t1}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		{ObjectMeta: metav1.ObjectMeta{Name: "running-old", CreationTimestamp: t0}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
	}
	sortPods(pods)
	if pods[0].Name != "running-old" || pods[1].Name != "running-new" || pods[2].Name != "pending-old" {
		t.Errorf("order %s %s %s", pods[0].Name, pods[1].Name, pods[2].Name)
	}
}

func TestExpectations(t *testing.T) {
	e := newExpectations()
	key := types.NamespacedName{Namespace: "ns", Name: "ds"}
	if !e.satisfied(key) {
		t.Fatal("fresh key unsatisfied")
	}
	e.expect(key, 2, []types.UID{"a"})
	steps := []struct {
		do   func()
		want bool
	}{
		{func() { e.created(key) }, false},
		{func() { e.created(key) }, false},
		{func() { e.deleted(key, "b") }, false},
		{func() { e.deleted(key, "a") }, true},
		{func() { e.created(key) }, true},
	}
	for i, s := range steps {
		s.do()
		if got := e.satisfied(key); got != s.want {
			t.Errorf("step %d: satisfied %v, want %v", i, got, s.want)
		}
	}
	e.expect(key, 1, nil)
	e.items[key].at = time.Now().Add(-expectationsTTL - time.Second)
	if !e.satisfied(key) {
		t.Errorf("expired expectations still hold")
	}
}
