package framework

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Default requests the scorers assume for containers that request nothing,
// as upstream's schedutil.DefaultMilliCPURequest/DefaultMemoryRequest.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
	// MaxNodeScore is the highest score a plugin gives a node.
	MaxNodeScore int64 = 100
)

// Resource is an amount of compute resources.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	Scalar           map[v1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl v1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds a ResourceList.
func (r *Resource) Add(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case v1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if r.Scalar == nil {
				r.Scalar = map[v1.ResourceName]int64{}
			}
			r.Scalar[name] += q.Value()
		}
	}
}

func (r *Resource) addResource(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += sign * o.AllowedPodNumber
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[v1.ResourceName]int64{}
		}
		r.Scalar[k] += sign * v
	}
}

// Get returns the amount of one resource.
func (r *Resource) Get(name v1.ResourceName) int64 {
	switch name {
	case v1.ResourceCPU:
		return r.MilliCPU
	case v1.ResourceMemory:
		return r.Memory
	case v1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case v1.ResourcePods:
		return r.AllowedPodNumber
	}
	return r.Scalar[name]
}

func (r Resource) clone() Resource {
	c := r
	if r.Scalar != nil {
		c.Scalar = make(map[v1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// AffinityTerm is a parsed pod (anti-)affinity term.
type AffinityTerm struct {
	Namespaces        sets.Set[string]
	Selector          labels.Selector
	TopologyKey       string
	NamespaceSelector labels.Selector
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// NamespaceLabels returns the labels of a namespace (nil if unknown).
type NamespaceLabels func(namespace string) labels.Set

// Matches tells whether the term selects pod.
func (t *AffinityTerm) Matches(pod *v1.Pod, nsLabels NamespaceLabels) bool {
	if !t.Namespaces.Has(pod.Namespace) {
		if t.NamespaceSelector == nil {
			return false
		}
		var l labels.Set
		if nsLabels != nil {
			l = nsLabels(pod.Namespace)
		}
		if !t.NamespaceSelector.Matches(l) {
			return false
		}
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// HostPort is one host port a pod asks for.
type HostPort struct {
	IP       string
	Protocol string
	Port     int32
}

// PodInfo is a pod with what the plugins derive from it, computed once.
type PodInfo struct {
	Pod *v1.Pod
	// Requests are the pod's effective requests (init containers, sidecars
	// and overhead included).
	Requests Resource
	// NonZeroMilliCPU and NonZeroMemory are the requests with the scorers'
	// defaults for containers that request nothing.
	NonZeroMilliCPU, NonZeroMemory int64
	RequiredAffinity               []AffinityTerm
	RequiredAntiAffinity           []AffinityTerm
	PreferredAffinity              []WeightedAffinityTerm
	PreferredAntiAffinity          []WeightedAffinityTerm
	HostPorts                      []HostPort
	// ParseError is set when an affinity term's selector is invalid.
	ParseError error
}

// NewPodInfo derives a PodInfo.
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod}
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	pi.Requests = NewResource(reqs)
	pi.Requests.AllowedPodNumber = 0
	nz := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
		NonMissingContainerRequests: v1.ResourceList{
			v1.ResourceCPU:    *resourceQuantity(DefaultMilliCPURequest, true),
			v1.ResourceMemory: *resourceQuantity(DefaultMemoryRequest, false),
		},
	})
	pi.NonZeroMilliCPU = nz.Cpu().MilliValue()
	pi.NonZeroMemory = nz.Memory().Value()
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			pi.RequiredAffinity = pi.terms(pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAffinity = pi.weighted(pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.RequiredAntiAffinity = pi.terms(pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAntiAffinity = pi.weighted(pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	add := func(cs []v1.Container, onlySidecars bool) {
		for i := range cs {
			if onlySidecars && (cs[i].RestartPolicy == nil || *cs[i].RestartPolicy != v1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				hp := HostPort{IP: p.HostIP, Protocol: string(p.Protocol), Port: p.HostPort}
				if hp.IP == "" {
					hp.IP = "0.0.0.0"
				}
				if hp.Protocol == "" {
					hp.Protocol = string(v1.ProtocolTCP)
				}
				pi.HostPorts = append(pi.HostPorts, hp)
			}
		}
	}
	add(pod.Spec.InitContainers, true)
	add(pod.Spec.Containers, false)
	return pi
}

// HasAffinity is whether the pod has any pod (anti-)affinity term.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinity)+len(pi.RequiredAntiAffinity)+len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
}

func (pi *PodInfo) term(t *v1.PodAffinityTerm) (AffinityTerm, bool) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		pi.ParseError = err
		return AffinityTerm{}, false
	}
	at := AffinityTerm{Namespaces: sets.New(t.Namespaces...), Selector: sel, TopologyKey: t.TopologyKey}
	if t.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			pi.ParseError = err
			return AffinityTerm{}, false
		}
		at.NamespaceSelector = nsSel
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		at.Namespaces.Insert(pi.Pod.Namespace)
	}
	return at, true
}

func (pi *PodInfo) terms(ts []v1.PodAffinityTerm) []AffinityTerm {
	var out []AffinityTerm
	for i := range ts {
		if t, ok := pi.term(&ts[i]); ok {
			out = append(out, t)
		}
	}
	return out
}

func (pi *PodInfo) weighted(ts []v1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range ts {
		if t, ok := pi.term(&ts[i].PodAffinityTerm); ok {
			out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: ts[i].Weight})
		}
	}
	return out
}

// NodeInfo is a node with the pods on it and what they use.
type NodeInfo struct {
	Node *v1.Node
	Pods []*PodInfo
	// PodsWithAffinity and PodsWithRequiredAntiAffinity are subsets of Pods.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	Requested                    Resource
	NonZeroRequested             Resource
	Allocatable                  Resource
	UsedPorts                    map[HostPort]int
	// Generation changes whenever the NodeInfo does.
	Generation int64
	// unschedulable and taints are copied from Node so that the hottest
	// filters do not touch the Node object.
	unschedulable bool
	taints        []v1.Taint
}

// NewNodeInfo makes a NodeInfo of a node and pods.
func NewNodeInfo(node *v1.Node, pods ...*v1.Pod) *NodeInfo {
	ni := &NodeInfo{}
	if node != nil {
		ni.SetNode(node)
	}
	for _, p := range pods {
		ni.AddPodInfo(NewPodInfo(p))
	}
	return ni
}

// SetNode sets the node.
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.Node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.unschedulable = node.Spec.Unschedulable
	n.taints = node.Spec.Taints
}

// AddPodInfo accounts a pod on the node.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.account(pi, 1)
}

func (n *NodeInfo) account(pi *PodInfo, sign int64) {
	n.Requested.addResource(&pi.Requests, sign)
	n.NonZeroRequested.MilliCPU += sign * pi.NonZeroMilliCPU
	n.NonZeroRequested.Memory += sign * pi.NonZeroMemory
	if len(pi.HostPorts) > 0 && n.UsedPorts == nil {
		n.UsedPorts = map[HostPort]int{}
	}
	for _, hp := range pi.HostPorts {
		n.UsedPorts[hp] += int(sign)
		if n.UsedPorts[hp] <= 0 {
			delete(n.UsedPorts, hp)
		}
	}
}

func removeFrom(list []*PodInfo, uid types.UID) ([]*PodInfo, *PodInfo) {
	for i, p := range list {
		if p.Pod.UID == uid {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			return list[:len(list)-1], p
		}
	}
	return list, nil
}

// RemovePod removes the pod with uid; it reports whether it was there.
func (n *NodeInfo) RemovePod(uid types.UID) bool {
	var pi *PodInfo
	n.Pods, pi = removeFrom(n.Pods, uid)
	if pi == nil {
		return false
	}
	n.PodsWithAffinity, _ = removeFrom(n.PodsWithAffinity, uid)
	n.PodsWithRequiredAntiAffinity, _ = removeFrom(n.PodsWithRequiredAntiAffinity, uid)
	n.account(pi, -1)
	return true
}

// Clone copies the NodeInfo (the pods themselves are shared).
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:             n.Node,
		Pods:             append([]*PodInfo(nil), n.Pods...),
		Requested:        n.Requested.clone(),
		NonZeroRequested: n.NonZeroRequested.clone(),
		Allocatable:      n.Allocatable.clone(),
		Generation:       n.Generation,
		unschedulable:    n.unschedulable,
		taints:           n.taints,
	}
	if len(n.PodsWithAffinity) > 0 {
		c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	}
	if n.UsedPorts != nil {
		c.UsedPorts = make(map[HostPort]int, len(n.UsedPorts))
		for k, v := range n.UsedPorts {
			c.UsedPorts[k] = v
		}
	}
	return c
}

// Snapshot is the cluster as one scheduling cycle sees it.
type Snapshot struct {
	NodeInfoMap map[string]*NodeInfo
	// List holds the nodes (with a Node) in a stable order.
	List []*NodeInfo
	// HavePodsWithAffinity and HavePodsWithRequiredAntiAffinity are the
	// nodes of List with such pods.
	HavePodsWithAffinity             []*NodeInfo
	HavePodsWithRequiredAntiAffinity []*NodeInfo
	// Generation is the cache generation the snapshot reflects.
	Generation int64
}

// NewSnapshot builds a snapshot from node infos (for tests and preemption).
func NewSnapshot(nodes ...*NodeInfo) *Snapshot {
	s := &Snapshot{NodeInfoMap: map[string]*NodeInfo{}}
	for _, n := range nodes {
		s.NodeInfoMap[n.Node.Name] = n
		s.List = append(s.List, n)
	}
	s.RebuildAffinityLists()
	return s
}

// RebuildAffinityLists recomputes HavePodsWith*.
func (s *Snapshot) RebuildAffinityLists() {
	s.HavePodsWithAffinity = s.HavePodsWithAffinity[:0]
	s.HavePodsWithRequiredAntiAffinity = s.HavePodsWithRequiredAntiAffinity[:0]
	for _, n := range s.List {
		if len(n.PodsWithAffinity) > 0 {
			s.HavePodsWithAffinity = append(s.HavePodsWithAffinity, n)
		}
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			s.HavePodsWithRequiredAntiAffinity = append(s.HavePodsWithRequiredAntiAffinity, n)
		}
	}
}

func resourceQuantity(v int64, milli bool) *resource.Quantity {
	if milli {
		return resource.NewMilliQuantity(v, resource.DecimalSI)
	}
	return resource.NewQuantity(v, resource.BinarySI)
}
