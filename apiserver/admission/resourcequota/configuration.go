package resourcequota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
)

// ignoredResources are virtual resources, never stored, that quota leaves
// alone (kube's list).
var ignoredResources = map[schema.GroupResource]struct{}{
	{Group: "", Resource: "bindings"}:                                      {},
	{Group: "", Resource: "componentstatuses"}:                             {},
	{Group: "", Resource: "events"}:                                        {},
	{Group: "authentication.k8s.io", Resource: "tokenreviews"}:             {},
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:       {},
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:      {},
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:  {},
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: {},
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:   {},
}

// legacyCounted are resources counted under their bare plural as well as
// count/<resource>, as quota did before count/ existed.
var legacyCounted = []corev1.ResourceName{
	corev1.ResourceConfigMaps,
	corev1.ResourceQuotas,
	corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets,
}

// ListFunc lists the objects of a core/v1 resource in a namespace.
type ListFunc func(resource, namespace string) ([]runtime.Object, error)

// NewConfiguration returns the quota configuration: usage evaluators for
// pods, services and persistent volume claims, and object counting with
// legacy names for configmaps, resourcequotas, replicationcontrollers and
// secrets. Any other resource is counted as count/<resource>[.<group>] by
// the upstream evaluator on demand. At admission the evaluators measure
// only the object admitted; list (nil: nothing listed) serves UsageStats,
// used to establish a quota's initial usage.
func NewConfiguration(list ListFunc) quota.Configuration {
	byNamespace := func(r string) generic.ListFuncByNamespace {
		return func(ns string) ([]runtime.Object, error) {
			if list == nil {
				return nil, nil
			}
			return list(r, ns)
		}
	}
	evaluators := []quota.Evaluator{
		&podEvaluator{list: byNamespace("pods")},
		&serviceEvaluator{list: byNamespace("services")},
		&pvcEvaluator{list: byNamespace("persistentvolumeclaims")},
	}
	for _, r := range legacyCounted {
		gr := schema.GroupResource{Resource: string(r)}
		evaluators = append(evaluators, generic.NewObjectCountEvaluator(gr, byNamespace(string(r)), r))
	}
	return generic.NewConfiguration(evaluators, ignoredResources)
}

// usageStats is generic.CalculateUsageStats with a list of nil meaning
// nothing to count.
func usageStats(o quota.UsageStatsOptions, list generic.ListFuncByNamespace, scope generic.MatchesScopeFunc, usage generic.UsageFunc) (quota.UsageStats, error) {
	return generic.CalculateUsageStats(o, list, scope, usage)
}

// uncoveredScopes returns the limited scopes no matched quota scope names.
func uncoveredScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) []corev1.ScopedResourceSelectorRequirement {
	out := []corev1.ScopedResourceSelectorRequirement{}
	for _, l := range limited {
		covered := false
		for _, m := range matched {
			if m.ScopeName == l.ScopeName {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, l)
		}
	}
	return out
}
