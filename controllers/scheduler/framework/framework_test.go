package framework

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func node(name string, cpu, mem string, labels map[string]string, taints ...v1.Taint) *v1.Node {
	l := map[string]string{v1.LabelHostname: name}
	for k, v := range labels {
		l[k] = v
	}
	alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem), v1.ResourcePods: resource.MustParse("110")}
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}, Spec: v1.NodeSpec{Taints: taints}, Status: v1.NodeStatus{Allocatable: alloc}}
}

func mkPod(name string, cpu string, mod ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"name": name}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c"}}},
	}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
	}
	for _, m := range mod {
		m(p)
	}
	return p
}

func withLabels(kv ...string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func TestFilters(t *testing.T) {
	antiWeb := func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: v1.LabelTopologyZone}}}}
	}
	tests := []struct {
		name     string
		node     *v1.Node
		others   []*NodeInfo // other nodes of the snapshot
		existing []*v1.Pod
		pod      *v1.Pod
		wantCode Code
		want     string // reasons joined, "" for success
	}{
		{name: "fits", node: node("n", "2", "1Gi", nil), pod: mkPod("p", "1")},
		{name: "insufficient cpu", node: node("n", "2", "1Gi", nil), existing: []*v1.Pod{mkPod("e", "1500m")}, pod: mkPod("p", "1"), wantCode: Unschedulable, want: "Insufficient cpu"},
		{name: "request above allocatable is unresolvable", node: node("n", "2", "1Gi", nil), pod: mkPod("p", "3"), wantCode: UnschedulableAndUnresolvable, want: "Insufficient cpu"},
		{name: "init container max", node: node("n", "2", "1Gi", nil), pod: mkPod("p", "500m", func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "i", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2500m")}}}}
		}), wantCode: UnschedulableAndUnresolvable, want: "Insufficient cpu"},
		{name: "sidecar adds to containers", node: node("n", "2", "1Gi", nil), pod: mkPod("p", "1500m", func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "s", RestartPolicy: ptr.To(v1.ContainerRestartPolicyAlways), Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}}}}
		}), wantCode: UnschedulableAndUnresolvable, want: "Insufficient cpu"},
		{name: "overhead counts", node: node("n", "2", "1Gi", nil), pod: mkPod("p", "1500m", func(p *v1.Pod) {
			p.Spec.Overhead = v1.ResourceList{v1.ResourceCPU: resource.MustParse("600m")}
		}), wantCode: UnschedulableAndUnresolvable, want: "Insufficient cpu"},
		{name: "memory and cpu both", node: node("n", "1", "1Gi", nil), pod: mkPod("p", "", func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"), v1.ResourceMemory: resource.MustParse("2Gi")}
		}), wantCode: UnschedulableAndUnresolvable, want: "Insufficient cpu, Insufficient memory"},
		{name: "too many pods", node: func() *v1.Node {
			n := node("n", "2", "1Gi", nil)
			n.Status.Allocatable[v1.ResourcePods] = resource.MustParse("1")
			return n
		}(), existing: []*v1.Pod{mkPod("e", "")}, pod: mkPod("p", ""), wantCode: Unschedulable, want: "Too many pods"},
		{name: "cordoned", node: func() *v1.Node { n := node("n", "2", "1Gi", nil); n.Spec.Unschedulable = true; return n }(), pod: mkPod("p", ""), wantCode: UnschedulableAndUnresolvable, want: ErrReasonUnschedulable},
		{name: "cordoned tolerated", node: func() *v1.Node { n := node("n", "2", "1Gi", nil); n.Spec.Unschedulable = true; return n }(), pod: mkPod("p", "", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
		})},
		{name: "node name", node: node("n", "2", "1Gi", nil), pod: mkPod("p", "", func(p *v1.Pod) { p.Spec.NodeName = "other" }), wantCode: UnschedulableAndUnresolvable, want: ErrReasonNodeName},
		{name: "untolerated taint", node: node("n", "2", "1Gi", nil, v1.Taint{Key: "k", Value: "v", Effect: v1.TaintEffectNoSchedule}), pod: mkPod("p", ""), wantCode: UnschedulableAndUnresolvable, want: "node(s) had untolerated taint {k: v}"},
		{name: "PreferNoSchedule does not filter", node: node("n", "2", "1Gi", nil, v1.Taint{Key: "k", Effect: v1.TaintEffectPreferNoSchedule}), pod: mkPod("p", "")},
		{name: "tolerated taint", node: node("n", "2", "1Gi", nil, v1.Taint{Key: "k", Value: "v", Effect: v1.TaintEffectNoExecute}), pod: mkPod("p", "", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists}}
		})},
		{name: "node selector", node: node("n", "2", "1Gi", map[string]string{"disk": "hdd"}), pod: mkPod("p", "", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), wantCode: UnschedulableAndUnresolvable, want: ErrReasonNodeAffinity},
		{name: "required node affinity", node: node("n", "2", "1Gi", map[string]string{"zone": "a"}), pod: mkPod("p", "", func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpNotIn, Values: []string{"a"}}}}}}}}
		}), wantCode: UnschedulableAndUnresolvable, want: ErrReasonNodeAffinity},
		{name: "host port conflict via wildcard", node: node("n", "2", "1Gi", nil), existing: []*v1.Pod{mkPod("e", "", func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{HostPort: 80, HostIP: "10.0.0.1", Protocol: v1.ProtocolTCP}}
		})}, pod: mkPod("p", "", func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{HostPort: 80}} }), wantCode: Unschedulable, want: ErrReasonNodePorts},
		{name: "host port other protocol", node: node("n", "2", "1Gi", nil), existing: []*v1.Pod{mkPod("e", "", func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{HostPort: 80, Protocol: v1.ProtocolUDP}}
		})}, pod: mkPod("p", "", func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{HostPort: 80}} })},
		{name: "existing pod anti-affinity", node: node("n", "2", "1Gi", map[string]string{v1.LabelTopologyZone: "a"}),
			existing: []*v1.Pod{mkPod("e", "", antiWeb)}, pod: mkPod("p", "", withLabels("app", "web")), wantCode: Unschedulable, want: ErrReasonExistingAntiAffinity},
		{name: "existing anti-affinity other zone", node: node("n", "2", "1Gi", map[string]string{v1.LabelTopologyZone: "b"}),
			others: []*NodeInfo{NewNodeInfo(node("o", "2", "1Gi", map[string]string{v1.LabelTopologyZone: "a"}), mkPod("e", "", antiWeb))},
			pod:    mkPod("p", "", withLabels("app", "web"))},
		{name: "incoming anti-affinity", node: node("n", "2", "1Gi", map[string]string{v1.LabelTopologyZone: "a"}),
			existing: []*v1.Pod{mkPod("e", "", withLabels("app", "web"))}, pod: mkPod("p", "", antiWeb), wantCode: Unschedulable, want: ErrReasonAntiAffinityRulesNotMatch},
		{name: "affinity unmatched", node: node("n", "2", "1Gi", nil),
			others: []*NodeInfo{NewNodeInfo(node("o", "2", "1Gi", nil), mkPod("db", "", withLabels("app", "db")))},
			pod: mkPod("p", "", func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: v1.LabelHostname}}}}
			}), wantCode: UnschedulableAndUnresolvable, want: ErrReasonAffinityRulesNotMatch},
		{name: "affinity to itself when no pod matches", node: node("n", "2", "1Gi", nil),
			pod: mkPod("p", "", withLabels("app", "db"), func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: v1.LabelHostname}}}}
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ni := NewNodeInfo(tt.node, tt.existing...)
			snap := NewSnapshot(append([]*NodeInfo{ni}, tt.others...)...)
			cs := PreFilter(NewPodInfo(tt.pod), snap, nil, nil)
			st := Filter(cs, ni)
			if tt.want == "" {
				if !st.IsSuccess() {
					t.Fatalf("want success, got %v %q", st.Code, st.Message())
				}
				return
			}
			if st.IsSuccess() || st.Code != tt.wantCode || st.Message() != tt.want {
				t.Fatalf("got %+v, want code %v %q", st, tt.wantCode, tt.want)
			}
		})
	}
}

func TestTopologySpreadFilter(t *testing.T) {
	spread := func(minDomains int32, policy v1.NodeInclusionPolicy) func(*v1.Pod) {
		return func(p *v1.Pod) {
			c := v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "s"}}, MatchLabelKeys: []string{"rev"}}
			if minDomains > 0 {
				c.MinDomains = &minDomains
			}
			if policy != "" {
				c.NodeAffinityPolicy = &policy
			}
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{c}
			p.Labels["app"] = "s"
			p.Labels["rev"] = "1"
		}
	}
	a1 := NewNodeInfo(node("a1", "4", "4Gi", map[string]string{"zone": "a"}), mkPod("x1", "", withLabels("app", "s", "rev", "1")))
	b1 := NewNodeInfo(node("b1", "4", "4Gi", map[string]string{"zone": "b"}))
	c1 := NewNodeInfo(node("c1", "4", "4Gi", map[string]string{"zone": "c", "pool": "other"}), mkPod("x2", "", withLabels("app", "s", "rev", "1")))
	nolabel := NewNodeInfo(node("z", "4", "4Gi", nil))
	// A pod of another revision does not count (matchLabelKeys).
	oldRev := NewNodeInfo(node("b2", "4", "4Gi", map[string]string{"zone": "b"}), mkPod("x3", "", withLabels("app", "s", "rev", "0")))
	snap := NewSnapshot(a1, b1, c1, nolabel, oldRev)
	onlyNotOther := func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "pool", Operator: v1.NodeSelectorOpDoesNotExist}}}}}}}
	}
	tests := []struct {
		name string
		pod  *v1.Pod
		on   *NodeInfo
		want string
	}{
		{name: "emptiest zone fits", pod: mkPod("p", "", spread(0, "")), on: b1},
		{name: "skew too big", pod: mkPod("p", "", spread(0, "")), on: a1, want: ErrReasonTopologySpread},
		{name: "missing key", pod: mkPod("p", "", spread(0, "")), on: nolabel, want: ErrReasonTopologySpreadMissingLabel},
		{name: "minDomains above domains makes min 0", pod: mkPod("p", "", spread(5, "")), on: b1},
		{name: "minDomains: even the emptiest zone is skewed when min is 0", pod: mkPod("p", "", spread(5, "")), on: a1, want: ErrReasonTopologySpread},
		// With the node affinity honoured, zone c does not count: a and b
		// are the domains, a has 1 and b 0.
		{name: "nodeAffinityPolicy Honor", pod: mkPod("p", "", spread(0, v1.NodeInclusionPolicyHonor), onlyNotOther), on: b1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := PreFilter(NewPodInfo(tt.pod), snap, nil, nil)
			st := Filter(cs, tt.on)
			if got := st.Message(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	f := &FitError{NumAllNodes: 3, Diagnosis: Diagnosis{NodeToStatus: map[string]*Status{
		"a": newStatus(TaintTolerationName, UnschedulableAndUnresolvable, "node(s) had untolerated taint {k: v}"),
		"b": newStatus(NodeResourcesFitName, Unschedulable, "Insufficient cpu"),
		"c": newStatus(NodeResourcesFitName, Unschedulable, "Insufficient cpu"),
	}}}
	snap := NewSnapshot(NewNodeInfo(node("a", "1", "1Gi", nil)), NewNodeInfo(node("b", "1", "1Gi", nil)), NewNodeInfo(node("c", "1", "1Gi", nil)))
	// Nothing to preempt on b and c: they are empty.
	cs := PreFilter(NewPodInfo(mkPod("p", "2")), snap, nil, nil)
	_, msg := FindCandidates(cs, snap, &f.Diagnosis, nil, nil)
	f.Diagnosis.PostFilterMsg = msg
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
	if got := f.Error(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := (&FitError{}).Error(); got != "no nodes available to schedule pods" {
		t.Fatalf("no nodes: %q", got)
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		pct   int32
		nodes int
		want  int
	}{
		{0, 50, 50}, {0, 99, 99}, {0, 100, 100}, {0, 1000, 420}, {0, 5000, 500}, {0, 6000, 300}, {0, 100000, 5000},
		{30, 1000, 300}, {1, 1000, 100}, {100, 5000, 5000},
	}
	for _, tt := range tests {
		if got := NumFeasibleNodesToFind(tt.pct, tt.nodes); got != tt.want {
			t.Errorf("NumFeasibleNodesToFind(%d, %d) = %d, want %d", tt.pct, tt.nodes, got, tt.want)
		}
	}
}

func TestScores(t *testing.T) {
	empty := NewNodeInfo(node("empty", "4", "8Gi", nil))
	half := NewNodeInfo(node("half", "4", "8Gi", nil), mkPod("e", "2"))
	p := NewPodInfo(mkPod("p", "1"))
	ls := ScoringStrategy{Type: LeastAllocated, Resources: []ResourceSpec{{Name: v1.ResourceCPU, Weight: 1}}}
	if a, b := ResourceFitScore(p, empty, ls), ResourceFitScore(p, half, ls); a != 75 || b != 25 {
		t.Errorf("LeastAllocated = %d, %d; want 75, 25", a, b)
	}
	ms := ScoringStrategy{Type: MostAllocated, Resources: ls.Resources}
	if a, b := ResourceFitScore(p, empty, ms), ResourceFitScore(p, half, ms); a != 25 || b != 75 {
		t.Errorf("MostAllocated = %d, %d; want 25, 75", a, b)
	}
	rt := ScoringStrategy{Type: RequestedToCapacityRatio, Resources: ls.Resources, Shape: []UtilizationShapePoint{{0, 0}, {100, 10}}}
	if a := ResourceFitScore(p, half, rt); a != 75 {
		t.Errorf("RequestedToCapacityRatio = %d, want 75", a)
	}
	// A best-effort pod counts as 100m/200Mi for the fit score.
	be := NewPodInfo(mkPod("be", ""))
	if be.NonZeroMilliCPU != DefaultMilliCPURequest || be.NonZeroMemory != DefaultMemoryRequest || be.Requests.MilliCPU != 0 {
		t.Errorf("best-effort requests: %+v", be)
	}
	// Balanced: cpu 3/4, memory 0 -> std 0.375 -> 62.
	if got := BalancedAllocationScore(p, half); got != 62 {
		t.Errorf("BalancedAllocation = %d, want 62", got)
	}

	tainted := NewNodeInfo(node("t", "4", "8Gi", nil, v1.Taint{Key: "k", Effect: v1.TaintEffectPreferNoSchedule}))
	pref := NewNodeInfo(node("pref", "4", "8Gi", map[string]string{"fast": "yes"}))
	cases := []struct {
		name  string
		pod   *v1.Pod
		nodes []*NodeInfo
		want  string
	}{
		{name: "least allocated", pod: mkPod("p", "1"), nodes: []*NodeInfo{half, empty}, want: "empty"},
		{name: "PreferNoSchedule", pod: mkPod("p", ""), nodes: []*NodeInfo{tainted, empty}, want: "empty"},
		{name: "tolerated PreferNoSchedule is neutral, fit decides", pod: mkPod("p", "1", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists}}
		}), nodes: []*NodeInfo{half, tainted}, want: "t"},
		{name: "preferred node affinity", pod: mkPod("p", "", func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{Weight: 10, Preference: v1.NodeSelectorTerm{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: "fast", Operator: v1.NodeSelectorOpExists}}}}}}}
		}), nodes: []*NodeInfo{empty, pref}, want: "pref"},
		{name: "preferred anti-affinity", pod: mkPod("p", "", func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: v1.PodAffinityTerm{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "e"}}, TopologyKey: v1.LabelHostname}}}}}
		}), nodes: []*NodeInfo{half, NewNodeInfo(node("busy", "4", "8Gi", nil), mkPod("e2", "2"))}, want: "busy"},
		{name: "spread ScheduleAnyway", pod: mkPod("p", "", withLabels("app", "s"), func(p *v1.Pod) {
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.ScheduleAnyway,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "s"}}}}
		}), nodes: []*NodeInfo{
			NewNodeInfo(node("crowded", "4", "8Gi", nil), mkPod("s1", "", withLabels("app", "s")), mkPod("s2", "", withLabels("app", "s"))),
			NewNodeInfo(node("one", "4", "8Gi", nil), mkPod("s3", "", withLabels("app", "s")), mkPod("big", "1")),
		}, want: "one"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			snap := NewSnapshot(tt.nodes...)
			s := NewScheduler(0, ScoreConfig{})
			for i := 0; i < 10; i++ {
				cs := PreFilter(NewPodInfo(tt.pod), snap, nil, nil)
				res, err := s.Schedule(cs, snap)
				if err != nil {
					t.Fatal(err)
				}
				if res.Node != tt.want {
					t.Fatalf("picked %s, want %s", res.Node, tt.want)
				}
			}
		})
	}
}

func TestPreemptionVictims(t *testing.T) {
	prio := func(v int32) func(*v1.Pod) { return func(p *v1.Pod) { p.Spec.Priority = &v } }
	n1 := NewNodeInfo(node("n1", "4", "8Gi", nil), mkPod("low1", "2", prio(1)), mkPod("low2", "2", prio(1)))
	n2 := NewNodeInfo(node("n2", "4", "8Gi", nil), mkPod("mid", "3", prio(5)), mkPod("high", "1", prio(100)))
	snap := NewSnapshot(n1, n2)
	pod := mkPod("p", "2", prio(10))
	cs := PreFilter(NewPodInfo(pod), snap, nil, nil)
	_, err := NewScheduler(0, ScoreConfig{}).Schedule(cs, snap)
	fe, ok := err.(*FitError)
	if !ok {
		t.Fatalf("want FitError, got %v", err)
	}
	cands, msg := FindCandidates(cs, snap, &fe.Diagnosis, nil, nil)
	if len(cands) != 2 || msg != "" {
		t.Fatalf("candidates %+v, msg %q", cands, msg)
	}
	best := PickCandidate(cands)
	// n1 needs one priority-1 victim; n2 one priority-5 victim.
	if best.Node != "n1" || len(best.Victims) != 1 {
		t.Fatalf("picked %s with %d victims", best.Node, len(best.Victims))
	}
	// A PDB protecting both low pods makes n2 (no violation) preferable.
	pdbs := []PDB{{Namespace: "ns", Selector: mustSelector(t, "name in (low1,low2)"), DisruptionsAllowed: 0}}
	cands, _ = FindCandidates(cs, snap, &fe.Diagnosis, pdbs, nil)
	if best := PickCandidate(cands); best.Node != "n2" || best.Victims[0].Name != "mid" {
		t.Fatalf("with PDB picked %s %v", best.Node, best.Victims)
	}
	if ok, msg := EligibleToPreempt(mkPod("n", "", func(p *v1.Pod) { p.Spec.PreemptionPolicy = ptr.To(v1.PreemptNever) })); ok || !strings.Contains(msg, "preemptionPolicy=Never") {
		t.Fatalf("Never: %v %q", ok, msg)
	}
}

func mustSelector(t *testing.T, s string) labels.Selector {
	t.Helper()
	sel, err := labels.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func TestNominatedPodsReserve(t *testing.T) {
	n := NewNodeInfo(node("n", "4", "8Gi", nil))
	snap := NewSnapshot(n)
	nominated := NewPodInfo(mkPod("nom", "3", func(p *v1.Pod) { p.Spec.Priority = ptr.To[int32](100) }))
	s := NewScheduler(0, ScoreConfig{})
	s.Nominated = func() map[string][]*PodInfo { return map[string][]*PodInfo{"n": {nominated}} }
	cs := PreFilter(NewPodInfo(mkPod("p", "2")), snap, nil, nil)
	if _, err := s.Schedule(cs, snap); err == nil || !strings.Contains(err.Error(), "Insufficient cpu") {
		t.Fatalf("lower priority pod ignored the nomination: %v", err)
	}
	cs = PreFilter(NewPodInfo(mkPod("q", "2", func(p *v1.Pod) { p.Spec.Priority = ptr.To[int32](1000) })), snap, nil, nil)
	if _, err := s.Schedule(cs, snap); err != nil {
		t.Fatalf("higher priority pod blocked by a lower nomination: %v", err)
	}
}
