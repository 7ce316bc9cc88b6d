package framework

import (
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// ScoringStrategyType is NodeResourcesFit's scoring strategy.
type ScoringStrategyType string

// The strategies of upstream's NodeResourcesFitArgs.
const (
	LeastAllocated           ScoringStrategyType = "LeastAllocated"
	MostAllocated            ScoringStrategyType = "MostAllocated"
	RequestedToCapacityRatio ScoringStrategyType = "RequestedToCapacityRatio"
)

// ResourceSpec is a resource the fit score looks at, with its weight.
type ResourceSpec struct {
	Name   v1.ResourceName
	Weight int64
}

// UtilizationShapePoint is a point of RequestedToCapacityRatio's shape:
// Utilization 0-100 maps to Score 0-10.
type UtilizationShapePoint struct {
	Utilization int32
	Score       int32
}

// ScoringStrategy configures NodeResourcesFit's score.
type ScoringStrategy struct {
	Type      ScoringStrategyType
	Resources []ResourceSpec
	Shape     []UtilizationShapePoint
}

// Weights of the score plugins; the zero value means upstream's defaults.
type Weights struct {
	NodeResourcesFit, BalancedAllocation, InterPodAffinity, NodeAffinity, PodTopologySpread, TaintToleration int64
}

// DefaultWeights are upstream's default profile's.
var DefaultWeights = Weights{NodeResourcesFit: 1, BalancedAllocation: 1, InterPodAffinity: 2, NodeAffinity: 2, PodTopologySpread: 2, TaintToleration: 3}

// ScoreConfig configures scoring.
type ScoreConfig struct {
	Strategy ScoringStrategy
	Weights  Weights
}

func (c *ScoreConfig) defaults() (ScoringStrategy, Weights) {
	s := c.Strategy
	if s.Type == "" {
		s.Type = LeastAllocated
	}
	if len(s.Resources) == 0 {
		s.Resources = []ResourceSpec{{Name: v1.ResourceCPU, Weight: 1}, {Name: v1.ResourceMemory, Weight: 1}}
	}
	w := c.Weights
	if w == (Weights{}) {
		w = DefaultWeights
	}
	return s, w
}

// Score scores the feasible nodes; the result is parallel to nodes, each
// the weighted sum of the normalized plugin scores.
func Score(cs *CycleState, snap *Snapshot, nodes []*NodeInfo, cfg *ScoreConfig) []int64 {
	strategy, w := cfg.defaults()
	total := make([]int64, len(nodes))
	scores := make([]int64, len(nodes))
	add := func(weight int64) {
		for i := range total {
			total[i] += weight * scores[i]
		}
	}
	// NodeResourcesFit and BalancedAllocation.
	for i, ni := range nodes {
		scores[i] = ResourceFitScore(cs.Pod, ni, strategy)
	}
	add(w.NodeResourcesFit)
	for i, ni := range nodes {
		scores[i] = BalancedAllocationScore(cs.Pod, ni)
	}
	add(w.BalancedAllocation)
	// NodeAffinity (preferred).
	if a := cs.Pod.Pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		if terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution); err == nil {
			for i, ni := range nodes {
				scores[i] = terms.Score(ni.Node)
			}
			DefaultNormalizeScore(scores, false)
			add(w.NodeAffinity)
		}
	}
	// TaintToleration (PreferNoSchedule).
	for i, ni := range nodes {
		scores[i] = TaintTolerationRawScore(cs.Pod.Pod, ni.taints)
	}
	DefaultNormalizeScore(scores, true)
	add(w.TaintToleration)
	// InterPodAffinity (preferred).
	if InterPodAffinityScores(cs, snap, nodes, scores) {
		add(w.InterPodAffinity)
	}
	// PodTopologySpread (ScheduleAnyway).
	if SpreadScores(cs, snap, nodes, scores) {
		add(w.PodTopologySpread)
	}
	return total
}

// DefaultNormalizeScore scales scores to 0-MaxNodeScore by their maximum,
// reversed if asked, as upstream's helper.
func DefaultNormalizeScore(scores []int64, reverse bool) {
	var max int64
	for _, s := range scores {
		if s > max {
			max = s
		}
	}
	if max == 0 {
		if reverse {
			for i := range scores {
				scores[i] = MaxNodeScore
			}
		}
		return
	}
	for i := range scores {
		s := MaxNodeScore * scores[i] / max
		if reverse {
			s = MaxNodeScore - s
		}
		scores[i] = s
	}
}

func requestedFor(pi *PodInfo, ni *NodeInfo, name v1.ResourceName, nonZero bool) (req, alloc int64) {
	alloc = ni.Allocatable.Get(name)
	switch {
	case nonZero && name == v1.ResourceCPU:
		return ni.NonZeroRequested.MilliCPU + pi.NonZeroMilliCPU, alloc
	case nonZero && name == v1.ResourceMemory:
		return ni.NonZeroRequested.Memory + pi.NonZeroMemory, alloc
	}
	return ni.Requested.Get(name) + pi.Requests.Get(name), alloc
}

// ResourceFitScore is NodeResourcesFit's score of one node.
func ResourceFitScore(pi *PodInfo, ni *NodeInfo, s ScoringStrategy) int64 {
	var score, weights int64
	for _, r := range s.Resources {
		req, alloc := requestedFor(pi, ni, r.Name, true)
		if alloc == 0 {
			continue
		}
		var rs int64
		switch s.Type {
		case MostAllocated:
			if req > alloc {
				req = alloc
			}
			rs = req * MaxNodeScore / alloc
		case RequestedToCapacityRatio:
			rs = shapeScore(s.Shape, req, alloc)
		default:
			if req > alloc {
				rs = 0
			} else {
				rs = (alloc - req) * MaxNodeScore / alloc
			}
		}
		score += rs * r.Weight
		weights += r.Weight
	}
	if weights == 0 {
		return 0
	}
	return score / weights
}

func shapeScore(shape []UtilizationShapePoint, req, alloc int64) int64 {
	if len(shape) == 0 {
		shape = []UtilizationShapePoint{{Utilization: 0, Score: 10}, {Utilization: 100, Score: 0}}
	}
	u := int64(100)
	if req < alloc {
		u = req * 100 / alloc
	}
	scale := MaxNodeScore / 10
	if u <= int64(shape[0].Utilization) {
		return int64(shape[0].Score) * scale
	}
	for i := 1; i < len(shape); i++ {
		p0, p1 := shape[i-1], shape[i]
		if u <= int64(p1.Utilization) {
			s0, s1 := int64(p0.Score)*scale, int64(p1.Score)*scale
			return s0 + (s1-s0)*(u-int64(p0.Utilization))/int64(p1.Utilization-p0.Utilization)
		}
	}
	return int64(shape[len(shape)-1].Score) * scale
}

// BalancedAllocationScore favours nodes whose cpu and memory fractions are
// close after placing the pod.
func BalancedAllocationScore(pi *PodInfo, ni *NodeInfo) int64 {
	var fr [2]float64
	n := 0
	for _, name := range [...]v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		req, alloc := requestedFor(pi, ni, name, false)
		if alloc == 0 {
			continue
		}
		f := float64(req) / float64(alloc)
		if f > 1 {
			f = 1
		}
		fr[n] = f
		n++
	}
	if n < 2 {
		return MaxNodeScore
	}
	std := math.Abs(fr[0]-fr[1]) / 2
	return int64((1 - std) * float64(MaxNodeScore))
}

// TaintTolerationRawScore counts a node's untolerated PreferNoSchedule
// taints.
func TaintTolerationRawScore(pod *v1.Pod, taints []v1.Taint) int64 {
	var n int64
	var tols []v1.Toleration
	got := false
	for i := range taints {
		t := &taints[i]
		if t.Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		if !got {
			for _, tol := range pod.Spec.Tolerations {
				if tol.Effect == "" || tol.Effect == v1.TaintEffectPreferNoSchedule {
					tols = append(tols, tol)
				}
			}
			got = true
		}
		if !v1helper.TolerationsTolerateTaint(klog.Background(), tols, t, true) {
			n++
		}
	}
	return n
}

// InterPodAffinityScores fills scores with the preferred inter-pod
// (anti-)affinity scores; false means every node scores the same.
func InterPodAffinityScores(cs *CycleState, snap *Snapshot, nodes []*NodeInfo, scores []int64) bool {
	pi := cs.Pod
	incoming := len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
	candidates := snap.HavePodsWithAffinity
	if incoming {
		candidates = snap.List
	}
	if len(candidates) == 0 {
		return false
	}
	topo := map[topologyPair]int64{}
	addTerm := func(t *AffinityTerm, node *v1.Node, weight int64) {
		if v, ok := node.Labels[t.TopologyKey]; ok {
			topo[topologyPair{t.TopologyKey, v}] += weight
		}
	}
	for _, ni := range candidates {
		pods := ni.PodsWithAffinity
		if incoming {
			pods = ni.Pods
		}
		for _, ep := range pods {
			for i := range pi.PreferredAffinity {
				if pi.PreferredAffinity[i].Matches(ep.Pod, cs.nsLabels) {
					addTerm(&pi.PreferredAffinity[i].AffinityTerm, ni.Node, int64(pi.PreferredAffinity[i].Weight))
				}
			}
			for i := range pi.PreferredAntiAffinity {
				if pi.PreferredAntiAffinity[i].Matches(ep.Pod, cs.nsLabels) {
					addTerm(&pi.PreferredAntiAffinity[i].AffinityTerm, ni.Node, -int64(pi.PreferredAntiAffinity[i].Weight))
				}
			}
			for i := range ep.PreferredAffinity {
				if ep.PreferredAffinity[i].Matches(pi.Pod, cs.nsLabels) {
					addTerm(&ep.PreferredAffinity[i].AffinityTerm, ni.Node, int64(ep.PreferredAffinity[i].Weight))
				}
			}
			for i := range ep.PreferredAntiAffinity {
				if ep.PreferredAntiAffinity[i].Matches(pi.Pod, cs.nsLabels) {
					addTerm(&ep.PreferredAntiAffinity[i].AffinityTerm, ni.Node, -int64(ep.PreferredAntiAffinity[i].Weight))
				}
			}
			// hardPodAffinityWeight 1: existing pods' required affinity
			// attracts the pods it selects.
			for i := range ep.RequiredAffinity {
				if ep.RequiredAffinity[i].Matches(pi.Pod, cs.nsLabels) {
					addTerm(&ep.RequiredAffinity[i], ni.Node, 1)
				}
			}
		}
	}
	if len(topo) == 0 {
		return false
	}
	minS, maxS := int64(math.MaxInt64), int64(math.MinInt64)
	for i, ni := range nodes {
		var s int64
		for pair, w := range topo {
			if ni.Node.Labels[pair.key] == pair.value {
				if _, ok := ni.Node.Labels[pair.key]; ok {
					s += w
				}
			}
		}
		scores[i] = s
		minS, maxS = min(minS, s), max(maxS, s)
	}
	for i := range scores {
		if maxS-minS > 0 {
			scores[i] = MaxNodeScore * (scores[i] - minS) / (maxS - minS)
		} else {
			scores[i] = 0
		}
	}
	return true
}

// SpreadScores fills scores with the ScheduleAnyway topology spread scores;
// false means there are no such constraints.
func SpreadScores(cs *CycleState, snap *Snapshot, nodes []*NodeInfo, scores []int64) bool {
	pod := cs.Pod.Pod
	cons, err := spreadConstraints(pod, v1.ScheduleAnyway)
	if err != nil || len(cons) == 0 {
		return false
	}
	// Domains are those of the feasible nodes; counts come from every node.
	domains := make([]map[string]int64, len(cons))
	for i := range cons {
		domains[i] = map[string]int64{}
		for _, ni := range nodes {
			if v, ok := ni.Node.Labels[cons[i].TopologyKey]; ok {
				domains[i][v] = 0
			}
		}
	}
	for _, ni := range snap.List {
		for i := range cons {
			c := &cons[i]
			v, ok := ni.Node.Labels[c.TopologyKey]
			if !ok {
				continue
			}
			if _, want := domains[i][v]; !want || !c.nodeCounts(cs, ni.Node) {
				continue
			}
			for _, p := range ni.Pods {
				if p.Pod.Namespace == pod.Namespace && p.Pod.DeletionTimestamp == nil && c.Selector.Matches(labels.Set(p.Pod.Labels)) {
					domains[i][v]++
				}
			}
		}
	}
	weights := make([]float64, len(cons))
	for i := range cons {
		weights[i] = math.Log(float64(len(domains[i]) + 2))
	}
	ignored := make([]bool, len(nodes))
	minS, maxS := int64(math.MaxInt64), int64(0)
	for n, ni := range nodes {
		var s float64
		for i := range cons {
			v, ok := ni.Node.Labels[cons[i].TopologyKey]
			if !ok {
				ignored[n] = true
				break
			}
			s += float64(domains[i][v])*weights[i] + float64(cons[i].MaxSkew-1)
		}
		if ignored[n] {
			continue
		}
		scores[n] = int64(math.Round(s))
		minS, maxS = min(minS, scores[n]), max(maxS, scores[n])
	}
	for n := range scores {
		switch {
		case ignored[n]:
			scores[n] = 0
		case maxS == 0:
			scores[n] = MaxNodeScore
		default:
			scores[n] = MaxNodeScore * (maxS + minS - scores[n]) / maxS
		}
	}
	return true
}
