package framework

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// Upstream's preemption reasons.
const (
	ReasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	ReasonNoVictims            = "No preemption victims found for incoming pod"
	MsgPreemptionPolicyNever   = "not eligible due to preemptionPolicy=Never."
)

// PDB is what preemption needs of a PodDisruptionBudget.
type PDB struct {
	Namespace          string
	Selector           labels.Selector
	DisruptionsAllowed int32
}

// Candidate is a node where preemption makes the pod fit.
type Candidate struct {
	Node          string
	Victims       []*v1.Pod
	NumViolations int
}

// PodPriority is the pod's priority (0 if unset).
func PodPriority(p *v1.Pod) int32 { return corev1helpers.PodPriority(p) }

// EligibleToPreempt tells whether the pod may preempt at all; the string is
// the message when not.
func EligibleToPreempt(pod *v1.Pod) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return false, MsgPreemptionPolicyNever
	}
	return true, ""
}

// moreImportant orders victims: higher priority first, then earlier start.
func moreImportant(a, b *v1.Pod) bool {
	pa, pb := PodPriority(a), PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	ta, tb := a.Status.StartTime, b.Status.StartTime
	if ta == nil || tb == nil {
		return ta != nil
	}
	return ta.Before(tb)
}

// FindCandidates tries every node that failed with a resolvable status;
// it returns the candidates and, when there are none, the preemption
// message ("preemption: 0/3 nodes are available: ...").
func FindCandidates(cs *CycleState, snap *Snapshot, diag *Diagnosis, pdbs []PDB, vols VolumeLister) ([]Candidate, string) {
	statuses := map[string]*Status{}
	var cands []Candidate
	for _, ni := range snap.List {
		st := diag.NodeToStatus[ni.Node.Name]
		if diag.PreFilterStatus != nil || st == nil || st.Code == UnschedulableAndUnresolvable {
			statuses[ni.Node.Name] = newStatus(DefaultPreemptionName, UnschedulableAndUnresolvable, ReasonPreemptionNotHelpful)
			continue
		}
		c, vst := selectVictimsOnNode(cs, snap, ni, st, pdbs, vols)
		if !vst.IsSuccess() {
			statuses[ni.Node.Name] = vst
			continue
		}
		cands = append(cands, c)
	}
	if len(cands) > 0 {
		return cands, ""
	}
	return nil, fmt.Sprintf("preemption: 0/%d nodes are available: %s.", len(snap.List), strings.Join(histogram(statuses), ", "))
}

func selectVictimsOnNode(cs *CycleState, snap *Snapshot, ni *NodeInfo, orig *Status, pdbs []PDB, vols VolumeLister) (Candidate, *Status) {
	prio := PodPriority(cs.Pod.Pod)
	work := ni.Clone()
	var potential []*PodInfo
	for _, p := range ni.Pods {
		if PodPriority(p.Pod) < prio {
			potential = append(potential, p)
			work.RemovePod(p.Pod.UID)
		}
	}
	if len(potential) == 0 {
		return Candidate{}, newStatus(DefaultPreemptionName, UnschedulableAndUnresolvable, ReasonNoVictims)
	}
	// Pod-to-pod constraints must be recomputed without the victims.
	recompute := orig.Plugin == InterPodAffinityName || orig.Plugin == PodTopologySpreadName
	fits := func() *Status {
		state := cs
		if recompute {
			s := &Snapshot{NodeInfoMap: snap.NodeInfoMap, List: make([]*NodeInfo, len(snap.List))}
			for i, n := range snap.List {
				if n.Node.Name == ni.Node.Name {
					s.List[i] = work
				} else {
					s.List[i] = n
				}
			}
			s.RebuildAffinityLists()
			state = PreFilter(cs.Pod, s, vols, cs.nsLabels)
		}
		return Filter(state, work)
	}
	if st := fits(); !st.IsSuccess() {
		return Candidate{}, st
	}
	sort.Slice(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	allowed := make([]int32, len(pdbs))
	for i := range pdbs {
		allowed[i] = pdbs[i].DisruptionsAllowed
	}
	var violating, nonViolating []*PodInfo
	for _, p := range potential {
		bad := false
		for i := range pdbs {
			if pdbs[i].Namespace != p.Pod.Namespace || pdbs[i].Selector.Empty() || !pdbs[i].Selector.Matches(labels.Set(p.Pod.Labels)) {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				bad = true
			}
		}
		if bad {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	c := Candidate{Node: ni.Node.Name}
	reprieve := func(p *PodInfo) bool {
		work.AddPodInfo(p)
		if fits().IsSuccess() {
			return true
		}
		work.RemovePod(p.Pod.UID)
		c.Victims = append(c.Victims, p.Pod)
		return false
	}
	for _, p := range violating {
		if !reprieve(p) {
			c.NumViolations++
		}
	}
	for _, p := range nonViolating {
		reprieve(p)
	}
	if len(c.Victims) == 0 {
		return Candidate{}, newStatus(DefaultPreemptionName, UnschedulableAndUnresolvable, ReasonNoVictims)
	}
	return c, nil
}

// PickCandidate chooses as upstream's pickOneNodeForPreemption: fewest PDB
// violations, then lowest highest-victim priority, then smallest sum of
// priorities, then fewest victims, then the latest-started victims.
func PickCandidate(cands []Candidate) *Candidate {
	if len(cands) == 0 {
		return nil
	}
	stats := func(c *Candidate) (maxP, sumP int64, latest int64) {
		maxP = -1 << 62
		for _, v := range c.Victims {
			p := int64(PodPriority(v))
			if p > maxP {
				maxP = p
			}
			sumP += p + (1 << 31) // shift so that negative priorities still sum sensibly
			if v.Status.StartTime != nil && v.Status.StartTime.UnixNano() > latest {
				latest = v.Status.StartTime.UnixNano()
			}
		}
		return
	}
	best := 0
	for i := 1; i < len(cands); i++ {
		a, b := &cands[i], &cands[best]
		if a.NumViolations != b.NumViolations {
			if a.NumViolations < b.NumViolations {
				best = i
			}
			continue
		}
		amax, asum, alatest := stats(a)
		bmax, bsum, blatest := stats(b)
		switch {
		case amax != bmax:
			if amax < bmax {
				best = i
			}
		case asum != bsum:
			if asum < bsum {
				best = i
			}
		case len(a.Victims) != len(b.Victims):
			if len(a.Victims) < len(b.Victims) {
				best = i
			}
		case alatest > blatest:
			best = i
		}
	}
	return &cands[best]
}
