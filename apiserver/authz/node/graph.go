package node

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// vertexKind is the kind of API object a vertex of the graph stands for.
type vertexKind byte

const (
	configMapVertex vertexKind = iota
	nodeVertex
	podVertex
	pvcVertex
	pvVertex
	resourceClaimVertex
	secretVertex
	serviceAccountVertex
	resourceSliceVertex
	volumeAttachmentVertex
	podCertificateRequestVertex
)

// String names the kind as upstream's authorizer logs it.
func (k vertexKind) String() string {
	switch k {
	case configMapVertex:
		return "configmap"
	case nodeVertex:
		return "node"
	case podVertex:
		return "pod"
	case pvcVertex:
		return "pvc"
	case pvVertex:
		return "pv"
	case resourceClaimVertex:
		return "resourceclaim"
	case secretVertex:
		return "secret"
	case serviceAccountVertex:
		return "serviceAccount"
	case resourceSliceVertex:
		return "resourceslice"
	case volumeAttachmentVertex:
		return "volumeattachment"
	case podCertificateRequestVertex:
		return "podcertificaterequest"
	}
	return fmt.Sprintf("vertexKind(%d)", byte(k))
}

// indexComplete reports whether every edge leaving a vertex of this kind
// carries the node it leads to, so that the vertex's destination counts
// alone answer "does it lead to node N". Secrets (which PVs may reference)
// and PVs (which lead to claims, not yet to nodes) are the exceptions.
func (k vertexKind) indexComplete() bool {
	return k != secretVertex && k != pvVertex && k != nodeVertex
}

type vertexKey struct {
	kind            vertexKind
	namespace, name string
}

func (k vertexKey) String() string {
	if k.namespace == "" {
		return k.kind.String() + ":" + k.name
	}
	return k.kind.String() + ":" + k.namespace + "/" + k.name
}

// vertex is one API object. Edges point towards nodes: secret → pod → node,
// pv → pvc → pod → node. An edge may carry the node it ultimately leads to
// (its destination), known when the edge is made from a pod's spec.
type vertex struct {
	key vertexKey
	// out maps each vertex this one points to onto the edge's destination
	// node (nil when the edge carries none).
	out map[*vertex]*vertex
	// in is the set of vertices pointing to this one.
	in map[*vertex]struct{}
	// destinations counts this vertex's out edges per destination node.
	destinations map[*vertex]int
}

func (v *vertex) degree() int { return len(v.out) + len(v.in) }

// Graph holds the relationships between nodes and the objects their pods
// use. It is safe for concurrent use. Objects without edges are dropped, so
// the graph holds only what some bound pod, PV, attachment or slice links.
type Graph struct {
	mu       sync.RWMutex
	vertices map[vertexKey]*vertex
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{vertices: map[vertexKey]*vertex{}}
}

func (g *Graph) vertexLocked(kind vertexKind, namespace, name string) *vertex {
	return g.vertices[vertexKey{kind: kind, namespace: namespace, name: name}]
}

func (g *Graph) ensureVertexLocked(kind vertexKind, namespace, name string) *vertex {
	key := vertexKey{kind: kind, namespace: namespace, name: name}
	if v, ok := g.vertices[key]; ok {
		return v
	}
	v := &vertex{key: key, out: map[*vertex]*vertex{}, in: map[*vertex]struct{}{}, destinations: map[*vertex]int{}}
	g.vertices[key] = v
	return v
}

// addEdgeLocked points from at to, recording destination (may be nil).
func (g *Graph) addEdgeLocked(from, to, destination *vertex) {
	if destination == nil && from.key.kind.indexComplete() {
		// Edges from these kinds must name their node, or the
		// destination counts would wrongly deny.
		panic(fmt.Sprintf("node authorizer graph: edge from %s to %s has no destination", from.key, to.key))
	}
	if old, ok := from.out[to]; ok {
		from.forgetDestination(old)
	}
	from.out[to] = destination
	to.in[from] = struct{}{}
	if destination != nil {
		from.destinations[destination]++
	}
}

func (v *vertex) forgetDestination(destination *vertex) {
	if destination == nil {
		return
	}
	if v.destinations[destination]--; v.destinations[destination] <= 0 {
		delete(v.destinations, destination)
	}
}

// deleteVertexLocked removes the vertex and its edges, and with them every
// neighbour left without edges.
func (g *Graph) deleteVertexLocked(kind vertexKind, namespace, name string) {
	v := g.vertexLocked(kind, namespace, name)
	if v == nil {
		return
	}
	delete(g.vertices, v.key)
	for to := range v.out {
		delete(to.in, v)
		if to.degree() == 0 {
			delete(g.vertices, to.key)
		}
	}
	for from := range v.in {
		from.forgetDestination(from.out[v])
		delete(from.out, v)
		if from.degree() == 0 {
			delete(g.vertices, from.key)
		}
	}
}

// AddPod records a pod bound to a node, replacing what was recorded for it:
// pod → node, and towards the pod its service account, the secrets and
// config maps it names, its persistent volume claims and its resource
// claims. A mirror pod gets only the pod → node edge: a node must not gain
// access to objects by creating a pod that names them.
func (g *Graph) AddPod(pod *corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()

	g.deleteVertexLocked(podVertex, pod.Namespace, pod.Name)
	p := g.ensureVertexLocked(podVertex, pod.Namespace, pod.Name)
	n := g.ensureVertexLocked(nodeVertex, "", pod.Spec.NodeName)
	g.addEdgeLocked(p, n, n)

	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return
	}
	link := func(kind vertexKind, name string) {
		g.addEdgeLocked(g.ensureVertexLocked(kind, pod.Namespace, name), p, n)
	}
	if pod.Spec.ServiceAccountName != "" {
		link(serviceAccountVertex, pod.Spec.ServiceAccountName)
	}
	for _, name := range PodSecretNames(pod) {
		link(secretVertex, name)
	}
	for _, name := range PodConfigMapNames(pod) {
		link(configMapVertex, name)
	}
	for _, name := range podClaimNames(pod) {
		link(pvcVertex, name)
	}
	for _, name := range podResourceClaimNames(pod) {
		link(resourceClaimVertex, name)
	}
}

// DeletePod forgets a pod and whatever only it linked.
func (g *Graph) DeletePod(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleteVertexLocked(podVertex, namespace, name)
}

// AddPV records a persistent volume, replacing what was recorded for it: when
// it is bound, pv → pvc and, towards the PV, the secrets the kubelet needs to
// mount it.
func (g *Graph) AddPV(pv *corev1.PersistentVolume) {
	g.mu.Lock()
	defer g.mu.Unlock()

	g.deleteVertexLocked(pvVertex, "", pv.Name)
	if pv.Spec.ClaimRef == nil {
		return
	}
	v := g.ensureVertexLocked(pvVertex, "", pv.Name)
	// Which pod (and node) uses the claim is not known here, so these
	// edges carry no destination.
	g.addEdgeLocked(v, g.ensureVertexLocked(pvcVertex, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name), nil)
	for _, s := range kubeletVisiblePVSecrets(pv) {
		g.addEdgeLocked(g.ensureVertexLocked(secretVertex, s.namespace, s.name), v, nil)
	}
}

// DeletePV forgets a persistent volume.
func (g *Graph) DeletePV(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleteVertexLocked(pvVertex, "", name)
}

// AddVolumeAttachment records attachment → node (nothing when nodeName is
// empty), replacing what was recorded for the attachment.
func (g *Graph) AddVolumeAttachment(name, nodeName string) {
	g.setNodeEdge(volumeAttachmentVertex, "", name, nodeName)
}

// DeleteVolumeAttachment forgets a volume attachment.
func (g *Graph) DeleteVolumeAttachment(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleteVertexLocked(volumeAttachmentVertex, "", name)
}

// AddResourceSlice records slice → node (nothing when nodeName is empty),
// replacing what was recorded for the slice.
func (g *Graph) AddResourceSlice(name, nodeName string) {
	g.setNodeEdge(resourceSliceVertex, "", name, nodeName)
}

// DeleteResourceSlice forgets a resource slice.
func (g *Graph) DeleteResourceSlice(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleteVertexLocked(resourceSliceVertex, "", name)
}

// AddPodCertificateRequest records request → node, replacing what was
// recorded for the request (its spec is immutable).
func (g *Graph) AddPodCertificateRequest(namespace, name, nodeName string) {
	g.setNodeEdge(podCertificateRequestVertex, namespace, name, nodeName)
}

// DeletePodCertificateRequest forgets a pod certificate request.
func (g *Graph) DeletePodCertificateRequest(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleteVertexLocked(podCertificateRequestVertex, namespace, name)
}

func (g *Graph) setNodeEdge(kind vertexKind, namespace, name, nodeName string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleteVertexLocked(kind, namespace, name)
	if nodeName == "" {
		return
	}
	v := g.ensureVertexLocked(kind, namespace, name)
	n := g.ensureVertexLocked(nodeVertex, "", nodeName)
	g.addEdgeLocked(v, n, n)
}

// leadsTo reports whether the object (kind, namespace, name) is related to
// node nodeName; when it is not, why says what was missing, for logs.
func (g *Graph) leadsTo(nodeName string, kind vertexKind, namespace, name string) (ok bool, why string) {
	g.mu.RLock()
	defer g.mu.RUnlock()

	target := g.vertexLocked(nodeVertex, "", nodeName)
	if target == nil {
		return false, fmt.Sprintf("unknown node '%s' cannot get %s %s/%s", nodeName, kind, namespace, name)
	}
	start := g.vertexLocked(kind, namespace, name)
	if start == nil {
		return false, fmt.Sprintf("node '%s' cannot get unknown %s %s/%s", nodeName, kind, namespace, name)
	}
	if start.destinations[target] > 0 {
		return true, ""
	}
	notFound := fmt.Sprintf("node '%s' cannot get %s %s/%s, no relationship to this object was found in the node authorizer graph", nodeName, kind, namespace, name)
	if kind.indexComplete() {
		return false, notFound
	}
	// Depth-first search, not following edges known to lead to other
	// nodes.
	seen := map[*vertex]bool{start: true}
	stack := []*vertex{start}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v.destinations[target] > 0 {
			return true, ""
		}
		for to, destination := range v.out {
			if to == target {
				return true, ""
			}
			if seen[to] || (destination != nil && destination != target) {
				continue
			}
			seen[to] = true
			stack = append(stack, to)
		}
	}
	return false, notFound
}

// size returns the number of vertices, for tests.
func (g *Graph) size() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.vertices)
}
