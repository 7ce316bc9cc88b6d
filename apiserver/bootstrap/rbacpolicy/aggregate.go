package rbacpolicy

import (
	"fmt"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// aggregate sets the rules of every role in roles that has an aggregationRule
// to what the ClusterRole aggregation controller would converge to over
// roles: for each selector in order, the rules of the other roles it selects,
// taken by name, without duplicates. Aggregated roles may select each other
// (admin selects edit, which selects view), so it repeats until nothing
// changes.
func aggregate(roles []rbacv1.ClusterRole) {
	byName := make([]int, len(roles))
	for i := range byName {
		byName[i] = i
	}
	sort.SliceStable(byName, func(a, b int) bool { return roles[byName[a]].Name < roles[byName[b]].Name })

	// Each pass settles at least one more level of nesting; more passes than
	// roles means a cycle that keeps growing, which a static policy must not have.
	for pass := 0; ; pass++ {
		if pass > len(roles) {
			panic("ClusterRole aggregation does not converge")
		}
		changed := false
		for i := range roles {
			if roles[i].AggregationRule == nil {
				continue
			}
			rules := aggregatedRules(roles, byName, i)
			if !equality.Semantic.DeepEqual(rules, roles[i].Rules) {
				roles[i].Rules = rules
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}

// aggregatedRules computes the rules of roles[target] from the roles, visited
// in name order, that its aggregationRule selects.
func aggregatedRules(roles []rbacv1.ClusterRole, byName []int, target int) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, labelSelector := range roles[target].AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&labelSelector)
		if err != nil {
			panic(fmt.Sprintf("ClusterRole %s: invalid aggregation selector: %v", roles[target].Name, err))
		}
		for _, i := range byName {
			if i == target || !selector.Matches(labels.Set(roles[i].Labels)) {
				continue
			}
			for _, rule := range roles[i].Rules {
				if !containsRule(rules, rule) {
					rules = append(rules, rule)
				}
			}
		}
	}
	return rules
}

func containsRule(rules []rbacv1.PolicyRule, rule rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if equality.Semantic.DeepEqual(r, rule) {
			return true
		}
	}
	return false
}
