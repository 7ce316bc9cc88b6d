package framework

import (
	"fmt"
	"math"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// Code is a filter's verdict.
type Code int

const (
	// Success: the node fits.
	Success Code = iota
	// Unschedulable: the node does not fit, preemption may help.
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit and preemption
	// cannot change that.
	UnschedulableAndUnresolvable
	// Error: something went wrong.
	Error
)

// Status is a filter's verdict with its reasons.
type Status struct {
	Code    Code
	Reasons []string
	Plugin  string
}

// IsSuccess treats a nil status as success.
func (s *Status) IsSuccess() bool { return s == nil || s.Code == Success }

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	msg := ""
	for i, r := range s.Reasons {
		if i > 0 {
			msg += ", "
		}
		msg += r
	}
	return msg
}

func newStatus(plugin string, code Code, reasons ...string) *Status {
	return &Status{Code: code, Reasons: reasons, Plugin: plugin}
}

// Plugin names, as upstream's.
const (
	NodeUnschedulableName   = "NodeUnschedulable"
	NodeNameName            = "NodeName"
	TaintTolerationName     = "TaintToleration"
	NodeAffinityName        = "NodeAffinity"
	NodePortsName           = "NodePorts"
	NodeResourcesFitName    = "NodeResourcesFit"
	BalancedAllocationName  = "NodeResourcesBalancedAllocation"
	VolumeBindingName       = "VolumeBinding"
	PodTopologySpreadName   = "PodTopologySpread"
	InterPodAffinityName    = "InterPodAffinity"
	SchedulingGatesName     = "SchedulingGates"
	DefaultPreemptionName   = "DefaultPreemption"
	DefaultSchedulerName    = v1.DefaultSchedulerName
	defaultPreemptionPolicy = v1.PreemptLowerPriority
)

// Upstream's reasons.
const (
	ErrReasonUnschedulable              = "node(s) were unschedulable"
	ErrReasonNodeName                   = "node(s) didn't match the requested node name"
	ErrReasonNodeAffinity               = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonNodePorts                  = "node(s) didn't have free ports for the requested pod ports"
	ErrReasonTooManyPods                = "Too many pods"
	ErrReasonVolumeNodeConflict         = "node(s) had volume node affinity conflict"
	ErrReasonUnboundImmediatePVC        = "pod has unbound immediate PersistentVolumeClaims"
	ErrReasonTopologySpread             = "node(s) didn't match pod topology spread constraints"
	ErrReasonTopologySpreadMissingLabel = "node(s) didn't match pod topology spread constraints (missing required label)"
	ErrReasonAffinityRulesNotMatch      = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch  = "node(s) didn't match pod anti-affinity rules"
	ErrReasonExistingAntiAffinity       = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// VolumeLister finds the storage objects a pod's volumes refer to.
type VolumeLister interface {
	PVC(namespace, name string) (*v1.PersistentVolumeClaim, error)
	PV(name string) (*v1.PersistentVolume, error)
	StorageClass(name string) (*storagev1.StorageClass, error)
}

// CycleState is what PreFilter computes once per pod and cycle.
type CycleState struct {
	Pod          *PodInfo
	NodeAffinity nodeaffinity.RequiredNodeAffinity
	// PreFilterStatus, when set, fails every node.
	PreFilterStatus *Status
	// volumeSelectors are the node affinities of the bound PVs.
	volumeSelectors []*nodeaffinity.NodeSelector

	interPod *interPodState
	spread   *spreadState

	nsLabels NamespaceLabels
}

// PreFilter computes the state the filters share.
func PreFilter(pi *PodInfo, snap *Snapshot, vols VolumeLister, nsLabels NamespaceLabels) *CycleState {
	cs := &CycleState{Pod: pi, NodeAffinity: nodeaffinity.GetRequiredNodeAffinity(pi.Pod), nsLabels: nsLabels}
	if pi.ParseError != nil {
		cs.PreFilterStatus = newStatus(InterPodAffinityName, UnschedulableAndUnresolvable, fmt.Sprintf("invalid affinity: %v", pi.ParseError))
		return cs
	}
	if st := cs.preFilterVolumes(vols); st != nil {
		cs.PreFilterStatus = st
		return cs
	}
	cs.interPod = preFilterInterPod(pi, snap, nsLabels)
	sp, st := preFilterSpread(cs, snap, v1.DoNotSchedule)
	if st != nil {
		cs.PreFilterStatus = st
		return cs
	}
	cs.spread = sp
	return cs
}

// Filter runs the filters on one node in upstream's order, stopping at the
// first that fails.
func Filter(cs *CycleState, ni *NodeInfo) *Status {
	if cs.PreFilterStatus != nil {
		return cs.PreFilterStatus
	}
	for _, f := range filters {
		if st := f(cs, ni); !st.IsSuccess() {
			return st
		}
	}
	return nil
}

var filters []func(*CycleState, *NodeInfo) *Status

func init() {
	filters = []func(*CycleState, *NodeInfo) *Status{
		FilterNodeUnschedulable, FilterNodeName, FilterTaintToleration, FilterNodeAffinity,
		FilterNodePorts, FilterNodeResourcesFit, FilterVolumeBinding, FilterPodTopologySpread,
		FilterInterPodAffinity,
	}
}

// FilterNodeUnschedulable rejects cordoned nodes unless the pod tolerates
// the unschedulable taint.
func FilterNodeUnschedulable(cs *CycleState, ni *NodeInfo) *Status {
	if !ni.unschedulable {
		return nil
	}
	taint := &v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}
	if v1helper.TolerationsTolerateTaint(klog.Background(), cs.Pod.Pod.Spec.Tolerations, taint, true) {
		return nil
	}
	return newStatus(NodeUnschedulableName, UnschedulableAndUnresolvable, ErrReasonUnschedulable)
}

// FilterNodeName enforces spec.nodeName.
func FilterNodeName(cs *CycleState, ni *NodeInfo) *Status {
	if n := cs.Pod.Pod.Spec.NodeName; n != "" && n != ni.Node.Name {
		return newStatus(NodeNameName, UnschedulableAndUnresolvable, ErrReasonNodeName)
	}
	return nil
}

func noScheduleOrExecute(t *v1.Taint) bool {
	return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
}

// FilterTaintToleration rejects nodes with an untolerated NoSchedule or
// NoExecute taint.
func FilterTaintToleration(cs *CycleState, ni *NodeInfo) *Status {
	if len(ni.taints) == 0 {
		return nil
	}
	taint, bad := v1helper.FindMatchingUntoleratedTaint(klog.Background(), ni.taints, cs.Pod.Pod.Spec.Tolerations, noScheduleOrExecute, true)
	if !bad {
		return nil
	}
	return newStatus(TaintTolerationName, UnschedulableAndUnresolvable, fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

// FilterNodeAffinity enforces nodeSelector and required node affinity.
func FilterNodeAffinity(cs *CycleState, ni *NodeInfo) *Status {
	ok, err := cs.NodeAffinity.Match(ni.Node)
	if err != nil {
		return newStatus(NodeAffinityName, UnschedulableAndUnresolvable, err.Error())
	}
	if !ok {
		return newStatus(NodeAffinityName, UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	return nil
}

// FilterNodePorts rejects nodes where a requested host port is taken.
func FilterNodePorts(cs *CycleState, ni *NodeInfo) *Status {
	if len(cs.Pod.HostPorts) == 0 || len(ni.UsedPorts) == 0 {
		return nil
	}
	for _, want := range cs.Pod.HostPorts {
		if portConflicts(ni.UsedPorts, want) {
			return newStatus(NodePortsName, Unschedulable, ErrReasonNodePorts)
		}
	}
	return nil
}

func portConflicts(used map[HostPort]int, want HostPort) bool {
	if want.IP == "0.0.0.0" {
		for hp := range used {
			if hp.Port == want.Port && hp.Protocol == want.Protocol {
				return true
			}
		}
		return false
	}
	if used[want] > 0 {
		return true
	}
	return used[HostPort{IP: "0.0.0.0", Protocol: want.Protocol, Port: want.Port}] > 0
}

// FilterNodeResourcesFit checks the pod's requests and the pod count
// against the node's allocatable.
func FilterNodeResourcesFit(cs *CycleState, ni *NodeInfo) *Status {
	var reasons []string
	unresolvable := false
	if int64(len(ni.Pods))+1 > ni.Allocatable.AllowedPodNumber {
		reasons = append(reasons, ErrReasonTooManyPods)
	}
	r := &cs.Pod.Requests
	check := func(name v1.ResourceName, want, used, alloc int64) {
		if want == 0 {
			return
		}
		if want > alloc-used {
			reasons = append(reasons, fmt.Sprintf("Insufficient %s", name))
			if want > alloc {
				unresolvable = true
			}
		}
	}
	check(v1.ResourceCPU, r.MilliCPU, ni.Requested.MilliCPU, ni.Allocatable.MilliCPU)
	check(v1.ResourceMemory, r.Memory, ni.Requested.Memory, ni.Allocatable.Memory)
	check(v1.ResourceEphemeralStorage, r.EphemeralStorage, ni.Requested.EphemeralStorage, ni.Allocatable.EphemeralStorage)
	for name, want := range r.Scalar {
		check(name, want, ni.Requested.Scalar[name], ni.Allocatable.Scalar[name])
	}
	if len(reasons) == 0 {
		return nil
	}
	code := Unschedulable
	if unresolvable {
		code = UnschedulableAndUnresolvable
	}
	return newStatus(NodeResourcesFitName, code, reasons...)
}

func (cs *CycleState) preFilterVolumes(vols VolumeLister) *Status {
	pod := cs.Pod.Pod
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		claim := ""
		switch {
		case v.PersistentVolumeClaim != nil:
			claim = v.PersistentVolumeClaim.ClaimName
		case v.Ephemeral != nil:
			claim = pod.Name + "-" + v.Name
		default:
			continue
		}
		if vols == nil {
			continue
		}
		pvc, err := vols.PVC(pod.Namespace, claim)
		if err != nil || pvc == nil {
			return newStatus(VolumeBindingName, UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", claim))
		}
		if pvc.DeletionTimestamp != nil {
			return newStatus(VolumeBindingName, UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", claim))
		}
		if pvc.Spec.VolumeName == "" {
			mode := storagev1.VolumeBindingImmediate
			if scName := pvcClass(pvc); scName != "" {
				if sc, err := vols.StorageClass(scName); err == nil && sc != nil && sc.VolumeBindingMode != nil {
					mode = *sc.VolumeBindingMode
				}
			}
			if mode == storagev1.VolumeBindingImmediate {
				return newStatus(VolumeBindingName, UnschedulableAndUnresolvable, ErrReasonUnboundImmediatePVC)
			}
			// WaitForFirstConsumer: Skiff does not pick volumes for
			// unbound claims; any node will do.
			continue
		}
		pv, err := vols.PV(pvc.Spec.VolumeName)
		if err != nil || pv == nil {
			return newStatus(VolumeBindingName, UnschedulableAndUnresolvable, fmt.Sprintf("pvc(s) bound to non-existent pv(s)"))
		}
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
			sel, err := nodeaffinity.NewNodeSelector(pv.Spec.NodeAffinity.Required)
			if err != nil {
				return newStatus(VolumeBindingName, UnschedulableAndUnresolvable, err.Error())
			}
			cs.volumeSelectors = append(cs.volumeSelectors, sel)
		}
	}
	return nil
}

func pvcClass(pvc *v1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return pvc.Annotations[v1.BetaStorageClassAnnotation]
}

// FilterVolumeBinding rejects nodes outside the node affinity of the pod's
// bound persistent volumes.
func FilterVolumeBinding(cs *CycleState, ni *NodeInfo) *Status {
	for _, sel := range cs.volumeSelectors {
		if !sel.Match(ni.Node) {
			return newStatus(VolumeBindingName, UnschedulableAndUnresolvable, ErrReasonVolumeNodeConflict)
		}
	}
	return nil
}

// --- PodTopologySpread ---

type spreadConstraint struct {
	MaxSkew            int32
	TopologyKey        string
	MinDomains         int32
	Selector           labels.Selector
	NodeAffinityPolicy v1.NodeInclusionPolicy
	NodeTaintsPolicy   v1.NodeInclusionPolicy
}

type spreadState struct {
	constraints []spreadConstraint
	// counts[i][domain] is how many matching pods constraint i sees.
	counts []map[string]int64
	// min[i] is the smallest count among constraint i's domains.
	min []int64
}

func spreadConstraints(pod *v1.Pod, when v1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != when {
			continue
		}
		ls := c.LabelSelector
		if len(c.MatchLabelKeys) > 0 && ls != nil {
			ls = ls.DeepCopy()
			for _, k := range c.MatchLabelKeys {
				if v, ok := pod.Labels[k]; ok {
					ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
				}
			}
		}
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return nil, err
		}
		sc := spreadConstraint{MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, MinDomains: 1, Selector: sel,
			NodeAffinityPolicy: v1.NodeInclusionPolicyHonor, NodeTaintsPolicy: v1.NodeInclusionPolicyIgnore}
		if c.MinDomains != nil {
			sc.MinDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			sc.NodeAffinityPolicy = *c.NodeAffinityPolicy
		}
		if c.NodeTaintsPolicy != nil {
			sc.NodeTaintsPolicy = *c.NodeTaintsPolicy
		}
		out = append(out, sc)
	}
	return out, nil
}

func (c *spreadConstraint) nodeCounts(cs *CycleState, node *v1.Node) bool {
	if c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor {
		if ok, _ := cs.NodeAffinity.Match(node); !ok {
			return false
		}
	}
	if c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor {
		if _, bad := v1helper.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, cs.Pod.Pod.Spec.Tolerations, noScheduleOrExecute, true); bad {
			return false
		}
	}
	return true
}

func preFilterSpread(cs *CycleState, snap *Snapshot, when v1.UnsatisfiableConstraintAction) (*spreadState, *Status) {
	pod := cs.Pod.Pod
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		return nil, nil
	}
	cons, err := spreadConstraints(pod, when)
	if err != nil {
		return nil, newStatus(PodTopologySpreadName, UnschedulableAndUnresolvable, err.Error())
	}
	if len(cons) == 0 {
		return nil, nil
	}
	st := &spreadState{constraints: cons, counts: make([]map[string]int64, len(cons)), min: make([]int64, len(cons))}
	for i := range cons {
		st.counts[i] = map[string]int64{}
	}
	for _, ni := range snap.List {
		node := ni.Node
		// A node counts only if it has every constraint's key.
		hasAll := true
		for i := range cons {
			if _, ok := node.Labels[cons[i].TopologyKey]; !ok {
				hasAll = false
				break
			}
		}
		if !hasAll {
			continue
		}
		for i := range cons {
			c := &cons[i]
			if !c.nodeCounts(cs, node) {
				continue
			}
			domain := node.Labels[c.TopologyKey]
			n := st.counts[i][domain]
			for _, p := range ni.Pods {
				if p.Pod.Namespace == pod.Namespace && p.Pod.DeletionTimestamp == nil && c.Selector.Matches(labels.Set(p.Pod.Labels)) {
					n++
				}
			}
			st.counts[i][domain] = n
		}
	}
	for i := range cons {
		m := int64(math.MaxInt64)
		for _, n := range st.counts[i] {
			if n < m {
				m = n
			}
		}
		if m == math.MaxInt64 || int32(len(st.counts[i])) < cons[i].MinDomains {
			m = 0
		}
		st.min[i] = m
	}
	return st, nil
}

// FilterPodTopologySpread enforces DoNotSchedule constraints.
func FilterPodTopologySpread(cs *CycleState, ni *NodeInfo) *Status {
	st := cs.spread
	if st == nil {
		return nil
	}
	pod := cs.Pod.Pod
	for i := range st.constraints {
		c := &st.constraints[i]
		domain, ok := ni.Node.Labels[c.TopologyKey]
		if !ok {
			return newStatus(PodTopologySpreadName, UnschedulableAndUnresolvable, ErrReasonTopologySpreadMissingLabel)
		}
		self := int64(0)
		if c.Selector.Matches(labels.Set(pod.Labels)) {
			self = 1
		}
		if st.counts[i][domain]+self-st.min[i] > int64(c.MaxSkew) {
			return newStatus(PodTopologySpreadName, Unschedulable, ErrReasonTopologySpread)
		}
	}
	return nil
}

// --- InterPodAffinity ---

type topologyPair struct{ key, value string }

type interPodState struct {
	existingAnti map[topologyPair]int64
	affinity     map[topologyPair]int64
	anti         map[topologyPair]int64
}

func preFilterInterPod(pi *PodInfo, snap *Snapshot, nsLabels NamespaceLabels) *interPodState {
	st := &interPodState{}
	for _, ni := range snap.HavePodsWithRequiredAntiAffinity {
		for _, ep := range ni.PodsWithRequiredAntiAffinity {
			for i := range ep.RequiredAntiAffinity {
				t := &ep.RequiredAntiAffinity[i]
				v, ok := ni.Node.Labels[t.TopologyKey]
				if ok && t.Matches(pi.Pod, nsLabels) {
					if st.existingAnti == nil {
						st.existingAnti = map[topologyPair]int64{}
					}
					st.existingAnti[topologyPair{t.TopologyKey, v}]++
				}
			}
		}
	}
	if len(pi.RequiredAffinity) == 0 && len(pi.RequiredAntiAffinity) == 0 {
		return st
	}
	st.affinity = map[topologyPair]int64{}
	st.anti = map[topologyPair]int64{}
	for _, ni := range snap.List {
		for _, ep := range ni.Pods {
			if len(pi.RequiredAffinity) > 0 {
				all := true
				for i := range pi.RequiredAffinity {
					if !pi.RequiredAffinity[i].Matches(ep.Pod, nsLabels) {
						all = false
						break
					}
				}
				if all {
					for i := range pi.RequiredAffinity {
						if v, ok := ni.Node.Labels[pi.RequiredAffinity[i].TopologyKey]; ok {
							st.affinity[topologyPair{pi.RequiredAffinity[i].TopologyKey, v}]++
						}
					}
				}
			}
			for i := range pi.RequiredAntiAffinity {
				t := &pi.RequiredAntiAffinity[i]
				if v, ok := ni.Node.Labels[t.TopologyKey]; ok && t.Matches(ep.Pod, nsLabels) {
					st.anti[topologyPair{t.TopologyKey, v}]++
				}
			}
		}
	}
	return st
}

// FilterInterPodAffinity enforces required pod affinity and anti-affinity,
// the incoming pod's and the existing pods' anti-affinity.
func FilterInterPodAffinity(cs *CycleState, ni *NodeInfo) *Status {
	st := cs.interPod
	if st == nil || len(st.existingAnti) == 0 && len(cs.Pod.RequiredAffinity) == 0 && len(cs.Pod.RequiredAntiAffinity) == 0 {
		return nil
	}
	nodeLabels := ni.Node.Labels
	for pair, n := range st.existingAnti {
		if v, ok := nodeLabels[pair.key]; ok && n > 0 && v == pair.value {
			return newStatus(InterPodAffinityName, Unschedulable, ErrReasonExistingAntiAffinity)
		}
	}
	pi := cs.Pod
	for i := range pi.RequiredAntiAffinity {
		t := &pi.RequiredAntiAffinity[i]
		if v, ok := nodeLabels[t.TopologyKey]; ok && st.anti[topologyPair{t.TopologyKey, v}] > 0 {
			return newStatus(InterPodAffinityName, Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
		}
	}
	if len(pi.RequiredAffinity) > 0 {
		ok := true
		for i := range pi.RequiredAffinity {
			t := &pi.RequiredAffinity[i]
			v, has := nodeLabels[t.TopologyKey]
			if !has || st.affinity[topologyPair{t.TopologyKey, v}] <= 0 {
				ok = false
				break
			}
		}
		if !ok {
			// The first pod of a group that selects itself may go
			// anywhere its topology keys exist.
			if len(st.affinity) == 0 {
				self := true
				for i := range pi.RequiredAffinity {
					t := &pi.RequiredAffinity[i]
					if _, has := nodeLabels[t.TopologyKey]; !has || !t.Matches(pi.Pod, cs.nsLabels) {
						self = false
						break
					}
				}
				if self {
					return nil
				}
			}
			return newStatus(InterPodAffinityName, UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
		}
	}
	return nil
}
