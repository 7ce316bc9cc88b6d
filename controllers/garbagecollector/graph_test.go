package garbagecollector

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

type recorder struct {
	deletes, orphans, absents, invalid []string
}

func (r *recorder) attemptToDelete(n *node) { r.deletes = append(r.deletes, n.identity.Name) }
func (r *recorder) attemptToDeleteRateLimited(n *node) {
	r.deletes = append(r.deletes, n.identity.Name)
}
func (r *recorder) attemptToOrphan(n *node)   { r.orphans = append(r.orphans, n.identity.Name) }
func (r *recorder) absent(id objectReference) { r.absents = append(r.absents, id.Name) }
func (r *recorder) invalidNamespaceOwnerRef(dep objectReference, ref metav1.OwnerReference) {
	r.invalid = append(r.invalid, dep.Name+"->"+ref.Name)
}

func (r *recorder) reset() { *r = recorder{} }

var cmGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

func cm(ns, name string, owners ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(name + "-uid"), OwnerReferences: owners}}
}

func ownerRef(name string, block bool) metav1.OwnerReference {
	r := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: types.UID(name + "-uid")}
	if block {
		r.BlockOwnerDeletion = ptr.To(true)
	}
	return r
}

func deleting(o *metav1.PartialObjectMetadata, finalizers ...string) *metav1.PartialObjectMetadata {
	o = o.DeepCopy()
	now := metav1.Now()
	o.DeletionTimestamp = &now
	o.Finalizers = finalizers
	return o
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func TestGraph(t *testing.T) {
	type step struct {
		ev          *event
		wantDeletes []string
		wantOrphans []string
		wantAbsents []string
		wantInvalid []string
	}
	add := func(o *metav1.PartialObjectMetadata) *event { return &event{typ: addEvent, gvk: cmGVK, obj: o} }
	update := func(old, o *metav1.PartialObjectMetadata) *event {
		return &event{typ: updateEvent, gvk: cmGVK, obj: o, oldObj: old}
	}
	del := func(o *metav1.PartialObjectMetadata) *event { return &event{typ: deleteEvent, gvk: cmGVK, obj: o} }
	virtualDel := func(o *metav1.PartialObjectMetadata) *event {
		return &event{virtual: true, typ: deleteEvent, gvk: cmGVK, obj: o}
	}
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, g *graph)
	}{
		{
			name: "unknown owner becomes a virtual node to verify",
			steps: []step{
				{ev: add(cm("a", "child", ownerRef("parent", false))), wantDeletes: []string{"parent"}},
			},
			check: func(t *testing.T, g *graph) {
				p := g.nodes["parent-uid"]
				if p == nil || p.observed || len(p.dependents) != 1 || p.identity.Namespace != "a" {
					t.Errorf("parent node = %+v", p)
				}
			},
		},
		{
			name: "observing the owner later marks it observed",
			steps: []step{
				{ev: add(cm("a", "child", ownerRef("parent", false))), wantDeletes: []string{"parent"}},
				{ev: add(cm("a", "parent"))},
			},
			check: func(t *testing.T, g *graph) {
				if p := g.nodes["parent-uid"]; !p.observed || len(p.dependents) != 1 {
					t.Errorf("parent node = %+v", p)
				}
			},
		},
		{
			name: "owner deletion enqueues dependents and records the owner absent",
			steps: []step{
				{ev: add(cm("a", "parent"))},
				{ev: add(cm("a", "child", ownerRef("parent", false)))},
				{ev: del(cm("a", "parent")), wantDeletes: []string{"child"}, wantAbsents: []string{"parent"}},
			},
			check: func(t *testing.T, g *graph) {
				if _, ok := g.nodes["parent-uid"]; ok {
					t.Errorf("parent still in graph")
				}
			},
		},
		{
			name: "namespaced owner referenced from another namespace",
			steps: []step{
				{ev: add(cm("a", "parent"))},
				{ev: add(cm("b", "child", ownerRef("parent", false))), wantDeletes: []string{"child"}, wantInvalid: []string{"child->parent"}},
			},
		},
		{
			name: "bad child observed before its owner",
			steps: []step{
				{ev: add(cm("b", "child", ownerRef("parent", false))), wantDeletes: []string{"parent"}},
				{ev: add(cm("a", "parent")), wantDeletes: []string{"child"}, wantInvalid: []string{"child->parent"}},
			},
		},
		{
			name: "foreground deletion starts",
			steps: []step{
				{ev: add(cm("a", "parent"))},
				{ev: add(cm("a", "child", ownerRef("parent", true)))},
				{ev: update(cm("a", "parent"), deleting(cm("a", "parent"), metav1.FinalizerDeleteDependents)), wantDeletes: []string{"child", "parent"}},
			},
			check: func(t *testing.T, g *graph) {
				p := g.nodes["parent-uid"]
				if !p.deletingDependents || !p.beingDeleted || len(p.blockingDependents()) != 1 {
					t.Errorf("parent node = %+v", p)
				}
			},
		},
		{
			name: "orphan deletion starts",
			steps: []step{
				{ev: add(cm("a", "parent"))},
				{ev: update(cm("a", "parent"), deleting(cm("a", "parent"), metav1.FinalizerOrphanDependents)), wantOrphans: []string{"parent"}},
				// No transition the second time.
				{ev: update(deleting(cm("a", "parent"), metav1.FinalizerOrphanDependents), deleting(cm("a", "parent"), metav1.FinalizerOrphanDependents))},
			},
		},
		{
			name: "removing a blocking reference wakes the owner",
			steps: []step{
				{ev: add(cm("a", "parent"))},
				{ev: add(cm("a", "child", ownerRef("parent", true)))},
				{ev: update(cm("a", "child", ownerRef("parent", true)), cm("a", "child", ownerRef("parent", false))), wantDeletes: []string{"parent"}},
				{ev: update(cm("a", "child", ownerRef("parent", false)), cm("a", "child"))},
			},
			check: func(t *testing.T, g *graph) {
				if p := g.nodes["parent-uid"]; len(p.dependents) != 0 {
					t.Errorf("parent still has dependents")
				}
			},
		},
		{
			name: "dependent deletion wakes an owner deleting dependents",
			steps: []step{
				{ev: add(deleting(cm("a", "parent"), metav1.FinalizerDeleteDependents)), wantDeletes: []string{"parent"}},
				{ev: add(cm("a", "child", ownerRef("parent", true)))},
				{ev: del(cm("a", "child", ownerRef("parent", true))), wantDeletes: []string{"parent"}},
			},
		},
		{
			name: "virtual delete of a virtual owner named two ways keeps it under the other identity",
			steps: []step{
				{ev: add(cm("a", "child1", ownerRef("parent", false))), wantDeletes: []string{"parent"}},
				{ev: add(cm("a", "child2", metav1.OwnerReference{APIVersion: "v1", Kind: "Secret", Name: "parent", UID: "parent-uid"})), wantDeletes: []string{"child2"}},
				{ev: virtualDel(cm("a", "parent")), wantDeletes: []string{"child1", "parent"}, wantAbsents: []string{"parent"}},
			},
			check: func(t *testing.T, g *graph) {
				p := g.nodes["parent-uid"]
				if p == nil || p.identity.Kind != "Secret" {
					t.Errorf("parent node = %+v", p)
				}
			},
		},
		{
			name: "virtual delete of a virtual owner removes it",
			steps: []step{
				{ev: add(cm("a", "child", ownerRef("parent", false))), wantDeletes: []string{"parent"}},
				{ev: virtualDel(cm("a", "parent")), wantDeletes: []string{"child"}, wantAbsents: []string{"parent"}},
			},
			check: func(t *testing.T, g *graph) {
				if _, ok := g.nodes["parent-uid"]; ok {
					t.Errorf("parent still in graph")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			g := newGraph(rec)
			for i, s := range tt.steps {
				rec.reset()
				g.process(klog.Background(), s.ev)
				for _, c := range []struct {
					what      string
					got, want []string
				}{
					{"attemptToDelete", rec.deletes, s.wantDeletes},
					{"attemptToOrphan", rec.orphans, s.wantOrphans},
					{"absent", rec.absents, s.wantAbsents},
					{"OwnerRefInvalidNamespace", rec.invalid, s.wantInvalid},
				} {
					if got, want := sorted(c.got), sorted(c.want); len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
						t.Errorf("step %d: %s = %v, want %v", i, c.what, got, want)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

func TestPatches(t *testing.T) {
	obj := cm("a", "child", ownerRef("p0", true), ownerRef("p1", false), ownerRef("p2", true))
	obj.ResourceVersion = "42"
	obj.Finalizers = []string{"a/b", metav1.FinalizerOrphanDependents}
	tests := []struct {
		name string
		fn   func() ([]byte, error)
		want string
	}{
		{"remove two refs", func() ([]byte, error) {
			return removeOwnerRefsPatch(obj, map[types.UID]bool{"p0-uid": true, "p2-uid": true})
		}, `[{"op":"test","path":"/metadata/uid","value":"child-uid"},` +
			`{"op":"test","path":"/metadata/ownerReferences/2/uid","value":"p2-uid"},{"op":"remove","path":"/metadata/ownerReferences/2"},` +
			`{"op":"test","path":"/metadata/ownerReferences/0/uid","value":"p0-uid"},{"op":"remove","path":"/metadata/ownerReferences/0"}]`},
		{"remove nothing", func() ([]byte, error) {
			return removeOwnerRefsPatch(obj, map[types.UID]bool{"other": true})
		}, ``},
		{"unblock", func() ([]byte, error) { return unblockOwnerRefsPatch(obj) },
			`[{"op":"test","path":"/metadata/uid","value":"child-uid"},` +
				`{"op":"test","path":"/metadata/ownerReferences/0/uid","value":"p0-uid"},{"op":"replace","path":"/metadata/ownerReferences/0/blockOwnerDeletion","value":false},` +
				`{"op":"test","path":"/metadata/ownerReferences/2/uid","value":"p2-uid"},{"op":"replace","path":"/metadata/ownerReferences/2/blockOwnerDeletion","value":false}]`},
		{"remove finalizer", func() ([]byte, error) { return removeFinalizerPatch(obj, metav1.FinalizerOrphanDependents) },
			`{"metadata":{"finalizers":["a/b"],"resourceVersion":"42"}}`},
		{"remove last finalizer", func() ([]byte, error) {
			o := obj.DeepCopy()
			o.Finalizers = []string{metav1.FinalizerDeleteDependents}
			return removeFinalizerPatch(o, metav1.FinalizerDeleteDependents)
		}, `{"metadata":{"finalizers":[],"resourceVersion":"42"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("patch =\n%s\nwant\n%s", got, tt.want)
			}
			if len(got) > 0 && !json.Valid(got) {
				t.Errorf("invalid JSON")
			}
		})
	}
}

func TestReferencesDiffs(t *testing.T) {
	a, b, c := ownerRef("a", false), ownerRef("b", true), ownerRef("c", false)
	bUnblocked := ownerRef("b", false)
	added, removed, changed := referencesDiffs([]metav1.OwnerReference{a, b}, []metav1.OwnerReference{bUnblocked, c})
	if len(added) != 1 || added[0].Name != "c" {
		t.Errorf("added = %v", added)
	}
	if len(removed) != 1 || removed[0].Name != "a" {
		t.Errorf("removed = %v", removed)
	}
	if len(changed) != 1 || !isBlocking(changed[0].old) || isBlocking(changed[0].new) {
		t.Errorf("changed = %v", changed)
	}
}
