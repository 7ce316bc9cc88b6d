package framework

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
	basePercentageOfNodesToScore     = 50
)

// NumFeasibleNodesToFind is how many feasible nodes a cycle looks for
// before it stops filtering, as upstream's adaptive percentageOfNodesToScore
// (percentage 0 means adaptive: 50% minus 1% per 125 nodes, at least 5%).
func NumFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	if numAllNodes < minFeasibleNodesToFind || percentage >= 100 {
		return numAllNodes
	}
	adaptive := percentage
	if adaptive <= 0 {
		adaptive = int32(basePercentageOfNodesToScore - numAllNodes/125)
		if adaptive < minFeasibleNodesPercentageToFind {
			adaptive = minFeasibleNodesPercentageToFind
		}
	}
	n := numAllNodes * int(adaptive) / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// Diagnosis records why nodes were rejected.
type Diagnosis struct {
	NodeToStatus    map[string]*Status
	PreFilterStatus *Status
	// PostFilterMsg is the preemption's message.
	PostFilterMsg string
}

// FitError is the failure of a scheduling cycle.
type FitError struct {
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error formats it as upstream does: "0/3 nodes are available: 1 node(s)
// had untolerated taint {k: v}, 2 Insufficient cpu. preemption: ...".
func (f *FitError) Error() string {
	if f.NumAllNodes == 0 && f.Diagnosis.PreFilterStatus == nil {
		return "no nodes available to schedule pods"
	}
	msg := fmt.Sprintf("0/%v nodes are available:", f.NumAllNodes)
	if st := f.Diagnosis.PreFilterStatus; st != nil {
		msg += " " + st.Message() + "."
	} else if h := histogram(f.Diagnosis.NodeToStatus); len(h) > 0 {
		msg += " " + strings.Join(h, ", ") + "."
	}
	if f.Diagnosis.PostFilterMsg != "" {
		msg += " " + f.Diagnosis.PostFilterMsg
	}
	return msg
}

func histogram(statuses map[string]*Status) []string {
	counts := map[string]int{}
	for _, st := range statuses {
		for _, r := range st.Reasons {
			counts[r]++
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return out
}

// Result is a successful cycle's outcome.
type Result struct {
	Node           string
	EvaluatedNodes int
	FeasibleNodes  int
}

// Scheduler runs cycles over snapshots; it keeps the rotating start index
// between cycles, so it is not safe for concurrent use.
type Scheduler struct {
	// Nominated, if set, returns the pods nominated (by preemption) to
	// nodes, by node name; those of at least the incoming pod's priority
	// count as if they were on the node. It is called once per cycle.
	Nominated  func() map[string][]*PodInfo
	nominated  map[string][]*PodInfo
	Percentage int32
	Score      ScoreConfig
	next       int
	rnd        *rand.Rand
}

// NewScheduler makes one.
func NewScheduler(percentage int32, score ScoreConfig) *Scheduler {
	return &Scheduler{Percentage: percentage, Score: score, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Schedule picks a node for the pod or returns a *FitError.
func (s *Scheduler) Schedule(cs *CycleState, snap *Snapshot) (Result, error) {
	n := len(snap.List)
	if n == 0 {
		return Result{}, &FitError{NumAllNodes: 0, Diagnosis: Diagnosis{NodeToStatus: map[string]*Status{}}}
	}
	diag := Diagnosis{NodeToStatus: map[string]*Status{}}
	if cs.PreFilterStatus != nil {
		diag.PreFilterStatus = cs.PreFilterStatus
		for _, ni := range snap.List {
			diag.NodeToStatus[ni.Node.Name] = cs.PreFilterStatus
		}
		return Result{}, &FitError{NumAllNodes: n, Diagnosis: diag}
	}
	var feasible []*NodeInfo
	s.nominated = nil
	if s.Nominated != nil {
		s.nominated = s.Nominated()
	}
	// A pod naming its node needs only that one.
	if name := cs.Pod.Pod.Spec.NodeName; name != "" {
		if ni, ok := snap.NodeInfoMap[name]; ok && ni.Node != nil {
			if st := s.filterWithNominated(cs, ni); st.IsSuccess() {
				feasible = append(feasible, ni)
			} else {
				diag.NodeToStatus[name] = st
			}
		}
		for _, ni := range snap.List {
			if ni.Node.Name != name {
				diag.NodeToStatus[ni.Node.Name] = newStatus(NodeNameName, UnschedulableAndUnresolvable, ErrReasonNodeName)
			}
		}
	} else {
		want := NumFeasibleNodesToFind(s.Percentage, n)
		start := s.next % n
		processed := 0
		for i := 0; i < n && len(feasible) < want; i++ {
			ni := snap.List[(start+i)%n]
			processed++
			if st := s.filterWithNominated(cs, ni); st.IsSuccess() {
				feasible = append(feasible, ni)
			} else {
				diag.NodeToStatus[ni.Node.Name] = st
			}
		}
		s.next = (start + processed) % n
	}
	if len(feasible) == 0 {
		return Result{}, &FitError{NumAllNodes: n, Diagnosis: diag}
	}
	res := Result{EvaluatedNodes: len(feasible) + len(diag.NodeToStatus), FeasibleNodes: len(feasible)}
	if len(feasible) == 1 {
		res.Node = feasible[0].Node.Name
		return res, nil
	}
	scores := Score(cs, snap, feasible, &s.Score)
	res.Node = s.selectHost(feasible, scores)
	return res, nil
}

// selectHost picks a highest-scoring node, ties broken at random.
func (s *Scheduler) selectHost(nodes []*NodeInfo, scores []int64) string {
	best, seen := 0, 0
	for i := range nodes {
		switch {
		case scores[i] > scores[best]:
			best, seen = i, 1
		case scores[i] == scores[best]:
			seen++
			if s.rnd.IntN(seen) == 0 {
				best = i
			}
		}
	}
	return nodes[best].Node.Name
}

// filterWithNominated runs the filters with the higher-or-equal priority
// pods nominated to the node added, as upstream's
// RunFilterPluginsWithNominatedPods (the pass with them is the stricter one
// for the node-local filters that matter here).
func (s *Scheduler) filterWithNominated(cs *CycleState, ni *NodeInfo) *Status {
	if len(s.nominated) == 0 {
		return Filter(cs, ni)
	}
	noms := s.nominated[ni.Node.Name]
	if len(noms) == 0 {
		return Filter(cs, ni)
	}
	prio := PodPriority(cs.Pod.Pod)
	var with *NodeInfo
	for _, p := range noms {
		if p.Pod.UID == cs.Pod.Pod.UID || PodPriority(p.Pod) < prio {
			continue
		}
		if with == nil {
			with = ni.Clone()
		}
		with.AddPodInfo(p)
	}
	if with == nil {
		return Filter(cs, ni)
	}
	if st := Filter(cs, with); !st.IsSuccess() {
		return st
	}
	return Filter(cs, ni)
}
