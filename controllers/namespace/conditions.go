package namespace

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the namespace conditions this controller maintains, in
// the order it writes them.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// okConditions are the reasons and messages of each condition when all is
// well (status False).
var okConditions = map[corev1.NamespaceConditionType][2]string{
	corev1.NamespaceDeletionDiscoveryFailure: {"ResourcesDiscovered", "All resources successfully discovered"},
	corev1.NamespaceDeletionGVParsingFailure: {"ParsedGroupVersions", "All legacy kube types successfully parsed"},
	corev1.NamespaceDeletionContentFailure:   {"ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	corev1.NamespaceContentRemaining:         {"ContentRemoved", "All content successfully removed"},
	corev1.NamespaceFinalizersRemaining:      {"ContentRemoved", "All content successfully removed"},
}

// conditionSet collects the failing conditions of one deletion pass.
type conditionSet struct {
	failing        map[corev1.NamespaceConditionType]corev1.NamespaceCondition
	contentErrors  []error
	remaining      map[schema.GroupVersionResource]int
	finalizersLeft map[string]int
}

func newConditionSet() *conditionSet {
	return &conditionSet{
		failing:        map[corev1.NamespaceConditionType]corev1.NamespaceCondition{},
		remaining:      map[schema.GroupVersionResource]int{},
		finalizersLeft: map[string]int{},
	}
}

func (s *conditionSet) fail(t corev1.NamespaceConditionType, reason, message string) {
	s.failing[t] = corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message}
}

// discoveryFailed records a discovery error.
func (s *conditionSet) discoveryFailed(err error) {
	msg := err.Error()
	var gerr *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &gerr) {
		msg = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(gerr.Groups), err)
	}
	s.fail(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", msg)
}

// groupVersionParsingFailed records group versions that did not parse.
func (s *conditionSet) groupVersionParsingFailed(err error) {
	s.fail(corev1.NamespaceDeletionGVParsingFailure, "GroupVersionParsingFailed", err.Error())
}

// contentFailed records a resource whose content could not be deleted.
func (s *conditionSet) contentFailed(err error) {
	s.contentErrors = append(s.contentErrors, err)
}

// contentRemains records objects of gvr that still exist, and their
// finalizers.
func (s *conditionSet) contentRemains(gvr schema.GroupVersionResource, n int, finalizers map[string]int) {
	if n == 0 {
		return
	}
	s.remaining[gvr] += n
	for f, c := range finalizers {
		if c > 0 {
			s.finalizersLeft[f] += c
		}
	}
}

// conditions are the failing conditions collected.
func (s *conditionSet) conditions() []corev1.NamespaceCondition {
	out := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{}
	for t, c := range s.failing {
		out[t] = c
	}
	if len(s.remaining) > 0 {
		var parts []string
		for gvr, n := range s.remaining {
			parts = append(parts, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
		sort.Strings(parts)
		out[corev1.NamespaceContentRemaining] = corev1.NamespaceCondition{
			Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain",
			Message: fmt.Sprintf("Some resources are remaining: %s", strings.Join(parts, ", ")),
		}
	}
	if len(s.finalizersLeft) > 0 {
		var parts []string
		for f, n := range s.finalizersLeft {
			parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
		}
		sort.Strings(parts)
		out[corev1.NamespaceFinalizersRemaining] = corev1.NamespaceCondition{
			Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Reason: "SomeFinalizerRemain",
			Message: fmt.Sprintf("Some finalizers are remaining: %s", strings.Join(parts, ", ")),
		}
	}
	if _, ok := out[corev1.NamespaceDeletionContentFailure]; !ok && len(s.contentErrors) > 0 {
		msgs := make([]string, 0, len(s.contentErrors))
		for _, e := range s.contentErrors {
			msgs = append(msgs, e.Error())
		}
		sort.Strings(msgs)
		out[corev1.NamespaceDeletionContentFailure] = corev1.NamespaceCondition{
			Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue, Reason: "ContentDeletionFailed",
			Message: fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(s.contentErrors), strings.Join(msgs, ", ")),
		}
	}
	list := make([]corev1.NamespaceCondition, 0, len(out))
	for _, t := range conditionTypes {
		if c, ok := out[t]; ok {
			list = append(list, c)
		}
	}
	return list
}

// apply writes the collected conditions into status: each maintained type
// is either failing (True) or its ok variant (False). LastTransitionTime
// changes only with the status. It reports whether anything changed.
func (s *conditionSet) apply(status *corev1.NamespaceStatus, now metav1.Time) bool {
	failing := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{}
	for _, c := range s.conditions() {
		failing[c.Type] = c
	}
	changed := false
	for _, t := range conditionTypes {
		want, ok := failing[t]
		if !ok {
			ok := okConditions[t]
			want = corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: ok[0], Message: ok[1]}
		}
		want.LastTransitionTime = now
		i := conditionIndex(status.Conditions, t)
		if i < 0 {
			status.Conditions = append(status.Conditions, want)
			changed = true
			continue
		}
		old := &status.Conditions[i]
		if old.Status == want.Status && old.Reason == want.Reason && old.Message == want.Message {
			continue
		}
		if old.Status != want.Status {
			old.LastTransitionTime = now
		}
		old.Status, old.Reason, old.Message = want.Status, want.Reason, want.Message
		changed = true
	}
	return changed
}

func conditionIndex(conds []corev1.NamespaceCondition, t corev1.NamespaceConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}
