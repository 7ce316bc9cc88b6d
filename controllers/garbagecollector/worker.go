package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/klog/v2"
)

var (
	// errVirtualDeleteEnqueued: the item is gone; the graph will drop it.
	errVirtualDeleteEnqueued = errors.New("item is absent, virtual delete event enqueued")
	// errNamespacedOwnerOfClusterScoped: a cluster-scoped item names a
	// namespaced owner, which retrying cannot fix.
	errNamespacedOwnerOfClusterScoped = errors.New("cluster-scoped objects cannot refer to namespaced owners")
	// errNotSynced: some monitor has not synced; the graph may miss
	// dependents.
	errNotSynced = errors.New("garbage collector monitors not synced")
)

func (gc *GarbageCollector) processDeleteQueue(ctx context.Context) bool {
	n, quit := gc.deleteQueue.Get()
	if quit {
		return false
	}
	defer gc.deleteQueue.Done(n)
	if gc.attemptToDeleteWorker(ctx, n) {
		gc.deleteQueue.AddRateLimited(n)
	} else {
		gc.deleteQueue.Forget(n)
	}
	return true
}

// attemptToDeleteWorker reports whether n must be looked at again.
func (gc *GarbageCollector) attemptToDeleteWorker(ctx context.Context, n *node) bool {
	log := klog.FromContext(ctx)
	err := gc.attemptToDeleteItem(ctx, n)
	switch {
	case errors.Is(err, errVirtualDeleteEnqueued):
		return false
	case errors.Is(err, errNamespacedOwnerOfClusterScoped):
		log.V(5).Info("Item is cluster-scoped, but refers to a namespaced owner", "item", gc.identityOf(n))
		return false
	case err != nil:
		log.V(2).Info("Error syncing item, will retry", "item", gc.identityOf(n), "err", err.Error())
		return true
	}
	gc.mu.RLock()
	observed := n.observed
	gc.mu.RUnlock()
	// A virtual node that exists but was never observed is looked at
	// again until an informer reports it (or it is found absent).
	return !observed
}

func (gc *GarbageCollector) identityOf(n *node) objectReference {
	gc.mu.RLock()
	defer gc.mu.RUnlock()
	return n.identity
}

// attemptToDeleteItem looks at one node: verifies it exists, classifies its
// owners, and deletes it or prunes its references as they dictate.
func (gc *GarbageCollector) attemptToDeleteItem(ctx context.Context, n *node) error {
	log := klog.FromContext(ctx)
	gc.mu.RLock()
	id, beingDeleted, deletingDependents := n.identity, n.beingDeleted, n.deletingDependents
	gc.mu.RUnlock()
	if beingDeleted && !deletingDependents {
		return nil
	}
	latest, err := gc.getObject(ctx, id)
	switch {
	case apierrors.IsNotFound(err):
		log.V(5).Info("Item not found, generating a virtual delete event", "item", id)
		gc.enqueueVirtualDelete(id)
		return errVirtualDeleteEnqueued
	case err != nil:
		return err
	}
	if latest.UID != id.UID {
		log.V(5).Info("UID does not match, generating a virtual delete event", "item", id)
		gc.enqueueVirtualDelete(id)
		return errVirtualDeleteEnqueued
	}
	if deletingDependents {
		return gc.processDeletingDependents(ctx, n)
	}
	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return nil
	}
	solid, dangling, waiting, err := gc.classifyReferences(ctx, id, refs)
	if err != nil {
		return err
	}
	log.V(5).Info("Classified references", "item", id, "solid", len(solid), "dangling", len(dangling), "waitingForDependentsDeletion", len(waiting))
	gc.mu.RLock()
	deps := n.dependentList()
	depDeleting := false
	for _, d := range deps {
		if d.deletingDependents {
			depDeleting = true
			break
		}
	}
	gc.mu.RUnlock()
	switch {
	case len(solid) != 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// Solid owners keep the item; drop references to owners that are
		// gone or waiting for their dependents to go.
		uids := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			uids[r.UID] = true
		}
		log.V(2).Info("Item has at least one existing owner, will not garbage collect; removing references to absent owners", "item", id, "owners", solid)
		return gc.removeOwnerReferences(ctx, id, uids)
	case len(waiting) != 0 && len(deps) != 0:
		if depDeleting {
			// A dependent waits for its own dependents as we do: make our
			// references non-blocking so a cycle cannot deadlock.
			log.V(2).Info("Item and one of its dependents are both deleting dependents; making its owner references non-blocking", "item", id)
			if err := gc.unblockOwnerReferences(ctx, id); err != nil {
				return err
			}
		}
		log.V(2).Info("At least one owner of item is deleting dependents and the item has dependents; deleting it in foreground", "item", id)
		return gc.deleteObject(ctx, id, latest.ResourceVersion, latest.OwnerReferences, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case hasFinalizer(latest, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case hasFinalizer(latest, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		log.V(2).Info("Deleting item", "item", id, "propagationPolicy", policy)
		return gc.deleteObject(ctx, id, latest.ResourceVersion, latest.OwnerReferences, policy)
	}
}

// processDeletingDependents finishes a foreground deletion once no
// blocking dependent remains, and hurries the blocking ones along.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, n *node) error {
	if !gc.monitorsSynced() {
		return errNotSynced
	}
	if wait := gc.settleWait(n); wait > 0 {
		gc.deleteQueue.AddAfter(n, wait)
		return nil
	}
	gc.mu.RLock()
	id := n.identity
	blocking := n.blockingDependents()
	var toDelete []*node
	for _, d := range blocking {
		if !d.deletingDependents {
			toDelete = append(toDelete, d)
		}
	}
	gc.mu.RUnlock()
	if len(blocking) == 0 {
		klog.FromContext(ctx).V(2).Info("Removing foregroundDeletion finalizer", "item", id)
		return gc.removeFinalizer(ctx, id, metav1.FinalizerDeleteDependents)
	}
	for _, d := range toDelete {
		gc.deleteQueue.Add(d)
	}
	return nil
}

// settleDelay is how long after an owner starts waiting for its
// dependents the collector trusts the graph to know them all: monitors of
// different resources deliver events independently, so a dependent created
// just before its owner's deletion may not be in the graph yet.
var settleDelay = 500 * time.Millisecond

// settleWait is how much longer n's dependents should be given to appear.
func (gc *GarbageCollector) settleWait(n *node) time.Duration {
	gc.mu.RLock()
	since := n.finalizingSince
	gc.mu.RUnlock()
	if since.IsZero() {
		return 0
	}
	return settleDelay - time.Since(since)
}

// classifyReferences sorts refs into owners that exist (solid), are gone
// (dangling), or exist but wait for their dependents to be deleted.
func (gc *GarbageCollector) classifyReferences(ctx context.Context, id objectReference, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		isDangling, owner, err := gc.isDangling(ctx, ref, id)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case isDangling:
			dangling = append(dangling, ref)
		case owner.DeletionTimestamp != nil && hasFinalizer(owner, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// isDangling reports whether ref, named by item, points to nothing: it is
// looked up live, in item's namespace when the owner kind is namespaced.
func (gc *GarbageCollector) isDangling(ctx context.Context, ref metav1.OwnerReference, item objectReference) (bool, *metav1.PartialObjectMetadata, error) {
	gvr, namespaced, err := gc.resourceFor(ref.APIVersion, ref.Kind)
	if err != nil {
		return false, nil, err
	}
	// A cluster-scoped item cannot have a namespaced owner: the reference is
	// invalid, whatever the absent-owner cache says (a virtual node made for
	// that owner from this very reference is verified absent, under the
	// item's empty namespace, and would otherwise make the item dangling).
	if item.Namespace == "" && namespaced {
		gc.reportInvalidNamespaceOwnerRef(item, ref)
		return false, nil, errNamespacedOwnerOfClusterScoped
	}
	key := refIdentity(ref, item.Namespace)
	if !namespaced {
		key.Namespace = ""
	}
	if _, ok := gc.absentOwners.Get(key); ok {
		return true, nil, nil
	}
	owner, err := gc.metadata.Resource(gvr).Namespace(key.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absentOwners.Add(key, nil)
		return true, nil, nil
	case err != nil:
		return false, nil, fmt.Errorf("get owner %s: %w", key, err)
	}
	if owner.UID != ref.UID {
		gc.absentOwners.Add(key, nil)
		return true, nil, nil
	}
	return false, owner, nil
}

func (gc *GarbageCollector) resourceFor(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("parse apiVersion %q: %w", apiVersion, err)
	}
	m, err := gc.mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("map %s %s to a resource: %w", apiVersion, kind, err)
	}
	return m.Resource, m.Scope.Name() == "namespace", nil
}

func (gc *GarbageCollector) clientFor(id objectReference) (metadata.ResourceInterface, error) {
	gvr, namespaced, err := gc.resourceFor(id.APIVersion, id.Kind)
	if err != nil {
		return nil, err
	}
	if namespaced {
		return gc.metadata.Resource(gvr).Namespace(id.Namespace), nil
	}
	return gc.metadata.Resource(gvr), nil
}

func (gc *GarbageCollector) getObject(ctx context.Context, id objectReference) (*metav1.PartialObjectMetadata, error) {
	c, err := gc.clientFor(id)
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, id.Name, metav1.GetOptions{})
}

// deleteObject deletes id if it still is the object seen at resourceVersion;
// if only unrelated fields changed since (same owners), it deletes anyway.
func (gc *GarbageCollector) deleteObject(ctx context.Context, id objectReference, resourceVersion string, owners []metav1.OwnerReference, policy metav1.DeletionPropagation) error {
	c, err := gc.clientFor(id)
	if err != nil {
		return err
	}
	uid := id.UID
	opts := metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &resourceVersion},
		PropagationPolicy: &policy,
	}
	err = c.Delete(ctx, id.Name, opts)
	if apierrors.IsConflict(err) {
		latest, getErr := c.Get(ctx, id.Name, metav1.GetOptions{})
		if getErr != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
		if latest.UID != uid || !ownerRefsEqual(latest.OwnerReferences, owners) {
			return fmt.Errorf("delete %s: owners changed, will reconsider: %w", id, err)
		}
		opts.Preconditions.ResourceVersion = nil
		err = c.Delete(ctx, id.Name, opts)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// removeFinalizer removes finalizer f from id, retrying on conflicts.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, id objectReference, f string) error {
	c, err := gc.clientFor(id)
	if err != nil {
		return err
	}
	for {
		latest, err := c.Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", id, err)
		}
		if latest.UID != id.UID || !hasFinalizer(latest, f) {
			return nil
		}
		patch, err := removeFinalizerPatch(latest, f)
		if err != nil {
			return err
		}
		_, err = c.Patch(ctx, id.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err):
			continue
		default:
			return fmt.Errorf("remove finalizer %s from %s: %w", f, id, err)
		}
	}
}

// removeOwnerReferences removes id's references to the given owner uids.
func (gc *GarbageCollector) removeOwnerReferences(ctx context.Context, id objectReference, uids map[types.UID]bool) error {
	return gc.patchOwnerReferences(ctx, id, func(latest *metav1.PartialObjectMetadata) ([]byte, error) {
		return removeOwnerRefsPatch(latest, uids)
	})
}

// unblockOwnerReferences sets blockOwnerDeletion false on id's references.
func (gc *GarbageCollector) unblockOwnerReferences(ctx context.Context, id objectReference) error {
	return gc.patchOwnerReferences(ctx, id, unblockOwnerRefsPatch)
}

func (gc *GarbageCollector) patchOwnerReferences(ctx context.Context, id objectReference, build func(*metav1.PartialObjectMetadata) ([]byte, error)) error {
	c, err := gc.clientFor(id)
	if err != nil {
		return err
	}
	latest, err := c.Get(ctx, id.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", id, err)
	}
	if latest.UID != id.UID {
		return nil
	}
	patch, err := build(latest)
	if err != nil || patch == nil {
		return err
	}
	_, err = c.Patch(ctx, id.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch owner references of %s: %w", id, err)
	}
	return nil
}

func (gc *GarbageCollector) processOrphanQueue(ctx context.Context) bool {
	n, quit := gc.orphanQueue.Get()
	if quit {
		return false
	}
	defer gc.orphanQueue.Done(n)
	if err := gc.attemptToOrphan(ctx, n); err != nil {
		klog.FromContext(ctx).V(2).Info("Error orphaning dependents, will retry", "owner", gc.identityOf(n), "err", err.Error())
		gc.orphanQueue.AddRateLimited(n)
		return true
	}
	gc.orphanQueue.Forget(n)
	return true
}

// attemptToOrphan removes owner's references from all its dependents, then
// its orphan finalizer.
func (gc *GarbageCollector) attemptToOrphan(ctx context.Context, owner *node) error {
	if !gc.monitorsSynced() {
		return errNotSynced
	}
	if wait := gc.settleWait(owner); wait > 0 {
		gc.orphanQueue.AddAfter(owner, wait)
		return nil
	}
	gc.mu.RLock()
	id := owner.identity
	var deps []objectReference
	for d := range owner.dependents {
		deps = append(deps, d.identity)
	}
	gc.mu.RUnlock()
	var errs []error
	for _, dep := range deps {
		if err := gc.removeOwnerReferences(ctx, dep, map[types.UID]bool{id.UID: true}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("orphan dependents of %s: %w", id, errors.Join(errs...))
	}
	klog.FromContext(ctx).V(2).Info("Orphaned dependents, removing orphan finalizer", "owner", id, "dependents", len(deps))
	return gc.removeFinalizer(ctx, id, metav1.FinalizerOrphanDependents)
}

// removeFinalizerPatch is a JSON merge patch dropping finalizer f from obj,
// guarded by obj's resourceVersion.
func removeFinalizerPatch(obj *metav1.PartialObjectMetadata, f string) ([]byte, error) {
	kept := []string{}
	for _, x := range obj.Finalizers {
		if x != f {
			kept = append(kept, x)
		}
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": obj.ResourceVersion, "finalizers": kept},
	})
}

type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// removeOwnerRefsPatch is a JSON patch removing obj's references to uids,
// failing if obj's uid or those references moved meanwhile. It is nil when
// there is nothing to remove.
func removeOwnerRefsPatch(obj *metav1.PartialObjectMetadata, uids map[types.UID]bool) ([]byte, error) {
	ops := []jsonPatchOp{{Op: "test", Path: "/metadata/uid", Value: obj.UID}}
	// Highest index first, so removals do not shift the next ones.
	for i := len(obj.OwnerReferences) - 1; i >= 0; i-- {
		ref := obj.OwnerReferences[i]
		if !uids[ref.UID] {
			continue
		}
		path := fmt.Sprintf("/metadata/ownerReferences/%d", i)
		ops = append(ops, jsonPatchOp{Op: "test", Path: path + "/uid", Value: ref.UID}, jsonPatchOp{Op: "remove", Path: path})
	}
	if len(ops) == 1 {
		return nil, nil
	}
	return json.Marshal(ops)
}

// unblockOwnerRefsPatch is a JSON patch setting blockOwnerDeletion false on
// each of obj's blocking references; nil when none blocks.
func unblockOwnerRefsPatch(obj *metav1.PartialObjectMetadata) ([]byte, error) {
	ops := []jsonPatchOp{{Op: "test", Path: "/metadata/uid", Value: obj.UID}}
	for i, ref := range obj.OwnerReferences {
		if !isBlocking(ref) {
			continue
		}
		path := fmt.Sprintf("/metadata/ownerReferences/%d", i)
		ops = append(ops, jsonPatchOp{Op: "test", Path: path + "/uid", Value: ref.UID}, jsonPatchOp{Op: "replace", Path: path + "/blockOwnerDeletion", Value: false})
	}
	if len(ops) == 1 {
		return nil, nil
	}
	return json.Marshal(ops)
}
