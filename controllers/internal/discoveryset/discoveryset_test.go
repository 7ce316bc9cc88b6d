package discoveryset

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestFilter(t *testing.T) {
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: []string{"list", "watch", "delete", "deletecollection"}},
			{Name: "pods/status", Kind: "Pod", Namespaced: true, Verbs: []string{"get", "patch"}},
			{Name: "nodes", Kind: "Node", Verbs: []string{"list", "watch", "delete"}},
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: []string{"list", "watch", "delete"}},
			{Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: []string{"create"}},
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: []string{"list", "watch", "delete"}},
		}},
		{GroupVersion: "a/b/c", APIResources: []metav1.APIResource{{Name: "x", Verbs: []string{"list"}}}},
	}
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	nodes := schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	events := schema.GroupVersionResource{Version: "v1", Resource: "events"}
	widgets := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	tests := []struct {
		name string
		opts Options
		want []schema.GroupVersionResource
	}{
		{"list watch delete", Options{Verbs: []string{"list", "watch", "delete"}}, []schema.GroupVersionResource{pods, nodes, events, widgets}},
		{"namespaced only", Options{NamespacedOnly: true, Verbs: []string{"delete"}}, []schema.GroupVersionResource{pods, events, widgets}},
		{"ignored", Options{Verbs: []string{"list"}, Ignored: map[schema.GroupResource]bool{{Resource: "events"}: true}}, []schema.GroupVersionResource{pods, nodes, widgets}},
		{"deletecollection", Options{Verbs: []string{"deletecollection"}}, []schema.GroupVersionResource{pods}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Filter(lists, tt.opts)
			if err == nil {
				t.Errorf("expected a parse error for a/b/c")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d resources %v, want %v", len(got), got, tt.want)
			}
			for _, w := range tt.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %v in %v", w, got)
				}
			}
		})
	}
	got, _ := Filter(lists, Options{})
	if r := got[widgets]; r.Kind != "Widget" || !r.Namespaced || r.GVK().Group != "example.com" {
		t.Errorf("widgets = %+v", r)
	}
}
