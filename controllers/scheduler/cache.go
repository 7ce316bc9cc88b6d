package scheduler

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/controllers/scheduler/framework"
)

// podState is a pod the cache accounts.
type podState struct {
	pod     *v1.Pod
	assumed bool
}

// Cache is the scheduler's view of nodes and the pods on them: the pods the
// informer reports as assigned, plus the pods the scheduler has assumed
// (bound or being bound) that the informer has not caught up with yet.
type Cache struct {
	mu         sync.RWMutex
	nodes      map[string]*framework.NodeInfo
	pods       map[types.UID]*podState
	generation int64
	// nodeSetGen changes when nodes are added or removed.
	nodeSetGen int64
	// dirty are the nodes changed since the last UpdateSnapshot (there is
	// one snapshotter).
	dirty map[string]struct{}
}

// NewCache makes an empty cache.
func NewCache() *Cache {
	return &Cache{nodes: map[string]*framework.NodeInfo{}, pods: map[types.UID]*podState{}, dirty: map[string]struct{}{}}
}

func (c *Cache) bump(name string, ni *framework.NodeInfo) {
	c.generation++
	ni.Generation = c.generation
	c.dirty[name] = struct{}{}
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	ni, ok := c.nodes[name]
	if !ok {
		ni = &framework.NodeInfo{}
		c.nodes[name] = ni
	}
	return ni
}

func (c *Cache) addPodLocked(pod *v1.Pod, assumed bool) {
	ni := c.nodeInfo(pod.Spec.NodeName)
	ni.AddPodInfo(framework.NewPodInfo(pod))
	c.bump(pod.Spec.NodeName, ni)
	c.pods[pod.UID] = &podState{pod: pod, assumed: assumed}
}

func (c *Cache) removePodLocked(ps *podState) {
	if ni, ok := c.nodes[ps.pod.Spec.NodeName]; ok {
		ni.RemovePod(ps.pod.UID)
		c.bump(ps.pod.Spec.NodeName, ni)
		if ni.Node == nil && len(ni.Pods) == 0 {
			delete(c.nodes, ps.pod.Spec.NodeName)
		}
	}
	delete(c.pods, ps.pod.UID)
}

// AssumePod accounts a pod (with spec.nodeName set) before its binding is
// observed.
func (c *Cache) AssumePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps)
	}
	c.addPodLocked(pod, true)
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePodLocked(ps)
	}
}

// IsAssumed reports whether the pod is assumed and not yet observed bound.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// AddOrUpdatePod records an assigned pod the informer reports; it confirms
// an assumed one.
func (c *Cache) AddOrUpdatePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		if !ps.assumed && ps.pod.ResourceVersion == pod.ResourceVersion {
			return
		}
		c.removePodLocked(ps)
	}
	c.addPodLocked(pod, false)
}

// RemovePod forgets an assigned pod (deleted or terminated).
func (c *Cache) RemovePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps)
	}
}

// AddOrUpdateNode records a node.
func (c *Cache) AddOrUpdateNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodeInfo(node.Name)
	if ni.Node == nil {
		c.nodeSetGen++
	}
	ni.SetNode(node)
	c.bump(node.Name, ni)
}

// RemoveNode forgets a node (its pods stay until they are deleted).
func (c *Cache) RemoveNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[name]
	if !ok {
		return
	}
	ni.Node = nil
	c.bump(name, ni)
	c.nodeSetGen++
	if len(ni.Pods) == 0 {
		delete(c.nodes, name)
	}
}

// NodeCount is the number of known nodes.
func (c *Cache) NodeCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, ni := range c.nodes {
		if ni.Node != nil {
			n++
		}
	}
	return n
}

// snapshotter keeps a Snapshot up to date with the cache incrementally.
type snapshotter struct {
	snap       *framework.Snapshot
	nodeSetGen int64
}

// UpdateSnapshot brings s up to date: only node infos changed since the
// last update are copied.
func (c *Cache) UpdateSnapshot(s *snapshotter) *framework.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.snap == nil {
		s.snap = &framework.Snapshot{NodeInfoMap: map[string]*framework.NodeInfo{}}
		s.nodeSetGen = -1
	}
	snap := s.snap
	if snap.Generation == c.generation && s.nodeSetGen == c.nodeSetGen {
		return snap
	}
	affinityChanged := false
	for name := range c.dirty {
		delete(c.dirty, name)
		ni, ok := c.nodes[name]
		if !ok || ni.Node == nil {
			if _, had := snap.NodeInfoMap[name]; had {
				delete(snap.NodeInfoMap, name)
				affinityChanged = true
			}
			continue
		}
		if ni.Generation <= snap.Generation {
			continue
		}
		old := snap.NodeInfoMap[name]
		if ni.Node == nil {
			if old != nil {
				delete(snap.NodeInfoMap, name)
				affinityChanged = true
			}
			continue
		}
		clone := ni.Clone()
		if old != nil {
			// Update in place so that List keeps pointing at it.
			*old = *clone
		} else {
			snap.NodeInfoMap[name] = clone
		}
		if len(ni.PodsWithAffinity) > 0 || len(ni.PodsWithRequiredAntiAffinity) > 0 || old != nil && (len(old.PodsWithAffinity) > 0 || len(old.PodsWithRequiredAntiAffinity) > 0) {
			affinityChanged = true
		}
	}
	if s.nodeSetGen != c.nodeSetGen {
		for name := range snap.NodeInfoMap {
			if ni, ok := c.nodes[name]; !ok || ni.Node == nil {
				delete(snap.NodeInfoMap, name)
			}
		}
		snap.List = snap.List[:0]
		for _, ni := range snap.NodeInfoMap {
			snap.List = append(snap.List, ni)
		}
		s.nodeSetGen = c.nodeSetGen
		affinityChanged = true
	}
	if affinityChanged {
		snap.RebuildAffinityLists()
	}
	snap.Generation = c.generation
	return snap
}

// Node returns the cached node (nil if unknown).
func (c *Cache) Node(name string) *v1.Node {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if ni, ok := c.nodes[name]; ok {
		return ni.Node
	}
	return nil
}
