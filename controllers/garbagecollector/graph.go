package garbagecollector

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// objectReference identifies an object: the coordinates of an owner
// reference plus a namespace.
type objectReference struct {
	APIVersion string
	Kind       string
	Name       string
	UID        types.UID
	Namespace  string
}

func (r objectReference) String() string {
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// refIdentity is the identity an owner reference names, seen from a
// dependent in namespace ns.
func refIdentity(ref metav1.OwnerReference, ns string) objectReference {
	return objectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Namespace: ns}
}

// refMatches reports whether ref names id's coordinates.
func refMatches(ref metav1.OwnerReference, id objectReference) bool {
	return ref.UID == id.UID && ref.Name == id.Name && ref.Kind == id.Kind && ref.APIVersion == id.APIVersion
}

// node is one object in the ownership graph. All fields are guarded by the
// graph's lock.
type node struct {
	identity objectReference
	owners   []metav1.OwnerReference
	// dependents are the nodes whose ownerReferences name this node's uid.
	dependents map[*node]struct{}
	// observed is false for virtual nodes: owners only known from
	// dependents' references, not (yet) seen through an informer.
	observed bool
	// beingDeleted: the object has a deletionTimestamp.
	beingDeleted bool
	// deletingDependents: it is being deleted with the foregroundDeletion
	// finalizer.
	deletingDependents bool
	// finalizingSince is when the graph saw it start waiting for its
	// dependents (foreground or orphan).
	finalizingSince time.Time
}

func (n *node) dependentList() []*node {
	out := make([]*node, 0, len(n.dependents))
	for d := range n.dependents {
		out = append(out, d)
	}
	return out
}

// blockingDependents are the dependents whose reference to n has
// blockOwnerDeletion set.
func (n *node) blockingDependents() []*node {
	var out []*node
	for d := range n.dependents {
		for _, ref := range d.owners {
			if ref.UID == n.identity.UID && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

type eventType int

const (
	addEvent eventType = iota
	updateEvent
	deleteEvent
)

// event is a change observed by a monitor, or a virtual delete: the
// collector confirmed with the API server that an object is gone.
type event struct {
	virtual bool
	typ     eventType
	gvk     schema.GroupVersionKind
	obj     *metav1.PartialObjectMetadata
	oldObj  *metav1.PartialObjectMetadata
}

func (e *event) identity() objectReference {
	return objectReference{
		APIVersion: e.gvk.GroupVersion().String(),
		Kind:       e.gvk.Kind,
		Name:       e.obj.Name,
		UID:        e.obj.UID,
		Namespace:  e.obj.Namespace,
	}
}

// enqueuer receives nodes that need a look from the workers.
type enqueuer interface {
	attemptToDelete(n *node)
	attemptToDeleteRateLimited(n *node)
	attemptToOrphan(n *node)
	absent(id objectReference)
	invalidNamespaceOwnerRef(dependent objectReference, ref metav1.OwnerReference)
}

// graph is the ownership graph: uid → node. Callers hold mu where noted.
type graph struct {
	nodes map[types.UID]*node
	q     enqueuer
}

func newGraph(q enqueuer) *graph {
	return &graph{nodes: map[types.UID]*node{}, q: q}
}

// process applies one event to the graph and enqueues whatever it makes
// worth a look.
func (g *graph) process(log klog.Logger, ev *event) {
	obj := ev.obj
	existing, found := g.nodes[obj.UID]
	if found && !ev.virtual && !existing.observed {
		observed := ev.identity()
		if observed != existing.identity {
			// Dependents that named this owner with other coordinates
			// may be wrong: have them checked.
			_, mismatched := partitionDependents(existing.dependentList(), observed)
			for _, dep := range mismatched {
				if observed.Namespace != "" && dep.identity.Namespace != observed.Namespace {
					log.V(2).Info("Item references an owner but does not match namespaces", "item", dep.identity, "owner", observed)
					g.reportInvalidNamespace(dep, observed.UID)
				}
				g.q.attemptToDelete(dep)
			}
			log.V(2).Info("Replacing virtual item with observed item", "virtual", existing.identity, "observed", observed)
			existing.identity = observed
		}
		existing.observed = true
	}
	switch {
	case (ev.typ == addEvent || ev.typ == updateEvent) && !found:
		n := &node{
			identity:           ev.identity(),
			dependents:         map[*node]struct{}{},
			owners:             obj.OwnerReferences,
			observed:           !ev.virtual,
			beingDeleted:       obj.DeletionTimestamp != nil,
			deletingDependents: obj.DeletionTimestamp != nil && hasFinalizer(obj, metav1.FinalizerDeleteDependents),
		}
		g.nodes[n.identity.UID] = n
		g.addDependentToOwners(log, n, n.owners)
		g.processTransitions(ev.oldObj, obj, n)
	case ev.typ == addEvent || ev.typ == updateEvent:
		if !ev.virtual {
			existing.identity.APIVersion = ev.gvk.GroupVersion().String()
			existing.identity.Kind = ev.gvk.Kind
		}
		added, removed, changed := referencesDiffs(existing.owners, obj.OwnerReferences)
		if len(added)+len(removed)+len(changed) > 0 {
			g.addUnblockedOwners(removed, changed)
			existing.owners = obj.OwnerReferences
			g.addDependentToOwners(log, existing, added)
			g.removeDependentFromOwners(existing, removed)
		}
		if obj.DeletionTimestamp != nil {
			existing.beingDeleted = true
		}
		g.processTransitions(ev.oldObj, obj, existing)
	case ev.typ == deleteEvent:
		if !found {
			return
		}
		remove := true
		if ev.virtual {
			deleted := ev.identity()
			if !existing.observed {
				matching, mismatched := partitionDependents(existing.dependentList(), deleted)
				if len(mismatched) > 0 {
					// Some dependents name this uid with other
					// coordinates: keep the node and try those.
					remove = false
					if len(matching) > 0 {
						g.q.absent(deleted)
						for _, dep := range matching {
							g.q.attemptToDelete(dep)
						}
					}
					if existing.identity == deleted {
						if alt := alternateOwnerIdentity(mismatched, deleted); alt != nil {
							existing.identity = *alt
							g.q.attemptToDeleteRateLimited(existing)
						}
					}
				}
			} else if existing.identity != deleted {
				// An observed object outranks a virtual delete with
				// other coordinates; only the dependents naming those
				// coordinates lost their owner.
				remove = false
				matching, _ := partitionDependents(existing.dependentList(), deleted)
				if len(matching) > 0 {
					g.q.absent(deleted)
					for _, dep := range matching {
						g.q.attemptToDelete(dep)
					}
				}
			}
		}
		if !remove {
			return
		}
		delete(g.nodes, existing.identity.UID)
		g.removeDependentFromOwners(existing, existing.owners)
		if len(existing.dependents) > 0 {
			g.q.absent(ev.identity())
		}
		for dep := range existing.dependents {
			g.q.attemptToDelete(dep)
		}
		for _, ref := range existing.owners {
			if owner, ok := g.nodes[ref.UID]; ok && owner.deletingDependents {
				// Its last blocking dependent may be gone.
				g.q.attemptToDelete(owner)
			}
		}
	}
}

// addDependentToOwners links n to owners, creating virtual nodes for owners
// not in the graph (the workers then verify them with the API server).
func (g *graph) addDependentToOwners(log klog.Logger, n *node, owners []metav1.OwnerReference) {
	suspicious := false
	for _, ref := range owners {
		owner, ok := g.nodes[ref.UID]
		if !ok {
			owner = &node{identity: refIdentity(ref, n.identity.Namespace), dependents: map[*node]struct{}{}}
			g.nodes[ref.UID] = owner
		}
		owner.dependents[n] = struct{}{}
		if !ok {
			g.q.attemptToDelete(owner)
			continue
		}
		if suspicious {
			continue
		}
		ownerNamespaced := owner.identity.Namespace != ""
		switch {
		case ownerNamespaced && owner.identity.Namespace != n.identity.Namespace:
			if owner.observed {
				log.V(2).Info("Item references an owner but does not match namespaces", "item", n.identity, "owner", owner.identity)
				g.reportInvalidNamespace(n, ref.UID)
			}
			suspicious = true
		case !refMatches(ref, owner.identity):
			suspicious = true
		case !ownerNamespaced && owner.identity.Namespace != n.identity.Namespace && !owner.observed:
			// A virtual cluster-scoped owner may be a namespaced
			// object wrongly named from a cluster-scoped dependent.
			suspicious = true
		}
	}
	if suspicious {
		g.q.attemptToDelete(n)
	}
}

func (g *graph) removeDependentFromOwners(n *node, owners []metav1.OwnerReference) {
	for _, ref := range owners {
		if owner, ok := g.nodes[ref.UID]; ok {
			delete(owner.dependents, n)
		}
	}
}

// addUnblockedOwners enqueues owners whose blocking reference went away or
// stopped blocking: they may be waiting for exactly that.
func (g *graph) addUnblockedOwners(removed []metav1.OwnerReference, changed []ownerRefPair) {
	for _, ref := range removed {
		if isBlocking(ref) {
			if owner, ok := g.nodes[ref.UID]; ok {
				g.q.attemptToDelete(owner)
			}
		}
	}
	for _, c := range changed {
		if isBlocking(c.old) && !isBlocking(c.new) {
			if owner, ok := g.nodes[c.new.UID]; ok {
				g.q.attemptToDelete(owner)
			}
		}
	}
}

func (g *graph) processTransitions(old, obj *metav1.PartialObjectMetadata, n *node) {
	if startsDeletionWith(old, obj, metav1.FinalizerOrphanDependents) {
		n.finalizingSince = time.Now()
		g.q.attemptToOrphan(n)
		return
	}
	if startsDeletionWith(old, obj, metav1.FinalizerDeleteDependents) {
		n.deletingDependents = true
		n.finalizingSince = time.Now()
		for dep := range n.dependents {
			g.q.attemptToDelete(dep)
		}
		g.q.attemptToDelete(n)
	}
}

func (g *graph) reportInvalidNamespace(n *node, ownerUID types.UID) {
	for _, ref := range n.owners {
		if ref.UID == ownerUID {
			g.q.invalidNamespaceOwnerRef(n.identity, ref)
			return
		}
	}
}

func isBlocking(ref metav1.OwnerReference) bool {
	return ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion
}

func hasFinalizer(obj metav1.Object, f string) bool {
	for _, x := range obj.GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

// startsDeletionWith reports whether obj is being deleted with finalizer f
// and old was not.
func startsDeletionWith(old, obj *metav1.PartialObjectMetadata, f string) bool {
	if obj.DeletionTimestamp == nil || !hasFinalizer(obj, f) {
		return false
	}
	return old == nil || old.DeletionTimestamp == nil || !hasFinalizer(old, f)
}

type ownerRefPair struct{ old, new metav1.OwnerReference }

// referencesDiffs compares two ownerReference lists by uid.
func referencesDiffs(old, new []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed []ownerRefPair) {
	oldByUID := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, r := range old {
		oldByUID[r.UID] = r
	}
	seen := map[types.UID]bool{}
	for _, r := range new {
		o, ok := oldByUID[r.UID]
		if !ok {
			added = append(added, r)
			continue
		}
		seen[r.UID] = true
		if !ownerRefEqual(o, r) {
			changed = append(changed, ownerRefPair{old: o, new: r})
		}
	}
	for _, r := range old {
		if !seen[r.UID] {
			removed = append(removed, r)
		}
	}
	return added, removed, changed
}

func ownerRefEqual(a, b metav1.OwnerReference) bool {
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		boolPtrEqual(a.Controller, b.Controller) && boolPtrEqual(a.BlockOwnerDeletion, b.BlockOwnerDeletion)
}

func ownerRefsEqual(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !ownerRefEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func boolPtrEqual(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// partitionDependents splits deps into those naming id with its exact
// coordinates and those naming id's uid otherwise (or from a namespace a
// namespaced id cannot be referenced from). A dependent can be in both.
func partitionDependents(deps []*node, id objectReference) (matching, mismatched []*node) {
	namespaced := id.Namespace != ""
	for _, dep := range deps {
		match, mismatch := false, false
		if namespaced && dep.identity.Namespace != id.Namespace {
			mismatch = true
		} else {
			for _, ref := range dep.owners {
				if ref.UID != id.UID {
					continue
				}
				if refMatches(ref, id) {
					match = true
				} else {
					mismatch = true
				}
			}
		}
		if match {
			matching = append(matching, dep)
		}
		if mismatch {
			mismatched = append(mismatched, dep)
		}
	}
	return matching, mismatched
}

func referenceLess(a, b objectReference) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.APIVersion != b.APIVersion {
		return a.APIVersion < b.APIVersion
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.UID < b.UID
}

// alternateOwnerIdentity finds another identity deps give absent's uid:
// the first after absent in a stable order, else the first.
func alternateOwnerIdentity(deps []*node, absent objectReference) *objectReference {
	seen := map[objectReference]bool{}
	var alts []objectReference
	for _, dep := range deps {
		for _, ref := range dep.owners {
			if ref.UID != absent.UID {
				continue
			}
			alt := refIdentity(ref, dep.identity.Namespace)
			if alt == absent || seen[alt] {
				continue
			}
			seen[alt] = true
			alts = append(alts, alt)
		}
	}
	if len(alts) == 0 {
		return nil
	}
	sort.Slice(alts, func(i, j int) bool { return referenceLess(alts[i], alts[j]) })
	for i := range alts {
		if referenceLess(absent, alts[i]) {
			return &alts[i]
		}
	}
	return &alts[0]
}

// eventReference is the involvedObject of an event about id.
func eventReference(id objectReference) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: id.APIVersion, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name, UID: id.UID}
}
