package scheduler

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func cacheNode(name string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("4"), v1.ResourcePods: resource.MustParse("10")}}}
}

func cachePod(name, node, cpu string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), ResourceVersion: "1"},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func TestCacheAssumeConfirmForget(t *testing.T) {
	steps := []struct {
		name    string
		do      func(c *Cache)
		wantCPU map[string]int64 // requested milli-CPU per node in the snapshot
		nodes   int
	}{
		{name: "nodes", do: func(c *Cache) { c.AddOrUpdateNode(cacheNode("a")); c.AddOrUpdateNode(cacheNode("b")) }, wantCPU: map[string]int64{"a": 0, "b": 0}, nodes: 2},
		{name: "assume", do: func(c *Cache) { c.AssumePod(cachePod("p", "a", "1")) }, wantCPU: map[string]int64{"a": 1000, "b": 0}, nodes: 2},
		{name: "confirm keeps it once", do: func(c *Cache) { c.AddOrUpdatePod(cachePod("p", "a", "1")) }, wantCPU: map[string]int64{"a": 1000, "b": 0}, nodes: 2},
		{name: "assume another then forget", do: func(c *Cache) {
			c.AssumePod(cachePod("q", "b", "2"))
			c.ForgetPod(cachePod("q", "b", "2"))
		}, wantCPU: map[string]int64{"a": 1000, "b": 0}, nodes: 2},
		{name: "forget does not drop confirmed pods", do: func(c *Cache) { c.ForgetPod(cachePod("p", "a", "1")) }, wantCPU: map[string]int64{"a": 1000, "b": 0}, nodes: 2},
		{name: "remove node", do: func(c *Cache) { c.RemoveNode("b") }, wantCPU: map[string]int64{"a": 1000}, nodes: 1},
		{name: "remove pod", do: func(c *Cache) { c.RemovePod(cachePod("p", "a", "1")) }, wantCPU: map[string]int64{"a": 0}, nodes: 1},
	}
	c := NewCache()
	var s snapshotter
	for _, st := range steps {
		st.do(c)
		snap := c.UpdateSnapshot(&s)
		if len(snap.List) != st.nodes || len(snap.NodeInfoMap) != st.nodes {
			t.Fatalf("%s: %d nodes in list, %d in map, want %d", st.name, len(snap.List), len(snap.NodeInfoMap), st.nodes)
		}
		for name, want := range st.wantCPU {
			ni := snap.NodeInfoMap[name]
			if ni == nil || ni.Requested.MilliCPU != want {
				t.Fatalf("%s: node %s requested %+v, want %dm", st.name, name, ni, want)
			}
		}
	}
	if c.IsAssumed("p") || c.IsAssumed("q") {
		t.Fatal("pods still assumed")
	}
}
