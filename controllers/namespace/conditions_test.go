package namespace

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

func TestConditions(t *testing.T) {
	cm := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	widgets := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	type want struct {
		status  corev1.ConditionStatus
		reason  string
		message string
	}
	tests := []struct {
		name  string
		build func(*conditionSet)
		want  map[corev1.NamespaceConditionType]want
	}{
		{
			name:  "all ok",
			build: func(*conditionSet) {},
			want: map[corev1.NamespaceConditionType]want{
				corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered"},
				corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionFalse, "ParsedGroupVersions", "All legacy kube types successfully parsed"},
				corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
				corev1.NamespaceContentRemaining:         {corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"},
				corev1.NamespaceFinalizersRemaining:      {corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"},
			},
		},
		{
			name: "content and finalizers remain",
			build: func(s *conditionSet) {
				s.contentRemains(widgets, 2, map[string]int{"example.com/hold": 2})
				s.contentRemains(cm, 1, map[string]int{"example.com/hold": 1, "other/x": 1})
				s.contentRemains(cm, 0, nil)
			},
			want: map[corev1.NamespaceConditionType]want{
				corev1.NamespaceContentRemaining: {corev1.ConditionTrue, "SomeResourcesRemain",
					"Some resources are remaining: configmaps. has 1 resource instances, widgets.example.com has 2 resource instances"},
				corev1.NamespaceFinalizersRemaining: {corev1.ConditionTrue, "SomeFinalizerRemain",
					"Some finalizers are remaining: example.com/hold in 3 resource instances, other/x in 1 resource instances"},
				corev1.NamespaceDeletionContentFailure: {corev1.ConditionFalse, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
			},
		},
		{
			name: "failures",
			build: func(s *conditionSet) {
				s.discoveryFailed(&discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "bad.example.com", Version: "v1"}: errors.New("boom")}})
				s.groupVersionParsingFailed(errors.New("couldn't parse"))
				s.contentFailed(errors.New("b failed"))
				s.contentFailed(errors.New("a failed"))
			},
			want: map[corev1.NamespaceConditionType]want{
				corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionTrue, "DiscoveryFailed",
					"Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: bad.example.com/v1: boom"},
				corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionTrue, "GroupVersionParsingFailed", "couldn't parse"},
				corev1.NamespaceDeletionContentFailure: {corev1.ConditionTrue, "ContentDeletionFailed",
					"Failed to delete all resource types, 2 remaining: a failed, b failed"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newConditionSet()
			tt.build(s)
			var status corev1.NamespaceStatus
			now := metav1.NewTime(time.Unix(1000, 0))
			if !s.apply(&status, now) {
				t.Fatalf("first apply reported no change")
			}
			if len(status.Conditions) != len(conditionTypes) {
				t.Fatalf("got %d conditions, want %d", len(status.Conditions), len(conditionTypes))
			}
			for typ, w := range tt.want {
				i := conditionIndex(status.Conditions, typ)
				if i < 0 {
					t.Fatalf("no %s condition", typ)
				}
				c := status.Conditions[i]
				if c.Status != w.status || c.Reason != w.reason || c.Message != w.message {
					t.Errorf("%s = %s/%s/%q, want %s/%s/%q", typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
				}
			}
			if s.apply(&status, metav1.NewTime(time.Unix(2000, 0))) {
				t.Errorf("second identical apply reported a change")
			}
			// Clearing everything flips failing conditions and their transition time.
			later := metav1.NewTime(time.Unix(3000, 0))
			newConditionSet().apply(&status, later)
			for _, c := range status.Conditions {
				if c.Status != corev1.ConditionFalse {
					t.Errorf("%s still %s", c.Type, c.Status)
				}
				if w, ok := tt.want[c.Type]; ok && w.status == corev1.ConditionTrue && !c.LastTransitionTime.Equal(&later) {
					t.Errorf("%s transition time not updated", c.Type)
				}
			}
		})
	}
}
