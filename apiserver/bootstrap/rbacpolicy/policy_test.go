package rbacpolicy

import (
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/auth/rbac/validation"
)

func TestNamesUnique(t *testing.T) {
	tests := []struct {
		name  string
		names []string
	}{
		{name: "ClusterRoles", names: namesOf(ClusterRoles(), func(r rbacv1.ClusterRole) string { return r.Name })},
		{name: "ClusterRoleBindings", names: namesOf(ClusterRoleBindings(), func(b rbacv1.ClusterRoleBinding) string { return b.Name })},
		{name: "Roles", names: namesOf(Roles(), func(r rbacv1.Role) string { return r.Namespace + "/" + r.Name })},
		{name: "RoleBindings", names: namesOf(RoleBindings(), func(b rbacv1.RoleBinding) string { return b.Namespace + "/" + b.Name })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := sets.New[string]()
			for _, n := range tc.names {
				if seen.Has(n) {
					t.Errorf("%s %q defined twice", tc.name, n)
				}
				seen.Insert(n)
			}
		})
	}
}

func TestRequiredObjects(t *testing.T) {
	clusterRoles := sets.New(namesOf(ClusterRoles(), func(r rbacv1.ClusterRole) string { return r.Name })...)
	clusterRoleBindings := sets.New(namesOf(ClusterRoleBindings(), func(b rbacv1.ClusterRoleBinding) string { return b.Name })...)
	roles := sets.New(namesOf(Roles(), func(r rbacv1.Role) string { return r.Namespace + "/" + r.Name })...)
	roleBindings := sets.New(namesOf(RoleBindings(), func(b rbacv1.RoleBinding) string { return b.Namespace + "/" + b.Name })...)

	tests := []struct {
		kind string
		have sets.Set[string]
		want []string
	}{
		{kind: "ClusterRole", have: clusterRoles, want: []string{
			"cluster-admin", "admin", "edit", "view",
			"system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view",
			"system:discovery", "system:basic-user", "system:public-info-viewer", "system:monitoring",
			"system:node", "system:node-proxier", "system:node-bootstrapper", "system:node-problem-detector",
			"system:kube-scheduler", "system:kube-controller-manager", "system:volume-scheduler", "system:kube-dns",
			"system:heapster", "system:persistent-volume-provisioner", "system:kubelet-api-admin",
			"system:aggregated-metrics-reader", "system:cluster-trust-bundle-discovery",
			"system:certificates.k8s.io:certificatesigningrequests:nodeclient",
			"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
			"system:certificates.k8s.io:legacy-unknown-approver",
			"system:certificates.k8s.io:kubelet-serving-approver",
			"system:certificates.k8s.io:kube-apiserver-client-approver",
			"system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
			"system:auth-delegator", "system:kube-aggregator", "system:service-account-issuer-discovery",
			"system:controller:attachdetach-controller", "system:controller:clusterrole-aggregation-controller",
			"system:controller:deployment-controller", "system:controller:replicaset-controller",
			"system:controller:namespace-controller", "system:controller:generic-garbage-collector",
			"system:controller:service-account-controller", "system:controller:endpointslice-controller",
			"system:controller:job-controller", "system:controller:node-controller",
			"system:controller:legacy-service-account-token-cleaner",
		}},
		{kind: "ClusterRoleBinding", have: clusterRoleBindings, want: []string{
			"cluster-admin", "system:discovery", "system:basic-user", "system:public-info-viewer", "system:monitoring",
			"system:node", "system:node-proxier", "system:kube-controller-manager", "system:kube-scheduler",
			"system:volume-scheduler", "system:kube-dns", "system:service-account-issuer-discovery",
			"system:cluster-trust-bundle-discovery",
			"system:controller:deployment-controller",
		}},
		{kind: "Role", have: roles, want: []string{
			"kube-system/extension-apiserver-authentication-reader",
			"kube-system/system::leader-locking-kube-controller-manager",
			"kube-system/system::leader-locking-kube-scheduler",
			"kube-system/system:controller:bootstrap-signer",
			"kube-system/system:controller:cloud-provider",
			"kube-system/system:controller:token-cleaner",
			"kube-public/system:controller:bootstrap-signer",
		}},
		{kind: "RoleBinding", have: roleBindings, want: []string{
			"kube-system/system::extension-apiserver-authentication-reader",
			"kube-system/system::leader-locking-kube-controller-manager",
			"kube-system/system::leader-locking-kube-scheduler",
			"kube-system/system:controller:bootstrap-signer",
			"kube-system/system:controller:cloud-provider",
			"kube-system/system:controller:token-cleaner",
			"kube-public/system:controller:bootstrap-signer",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			for _, name := range tc.want {
				if !tc.have.Has(name) {
					t.Errorf("%s %q missing", tc.kind, name)
				}
			}
		})
	}
}

func TestBindingsReferenceExistingRoles(t *testing.T) {
	clusterRoles := sets.New(namesOf(ClusterRoles(), func(r rbacv1.ClusterRole) string { return r.Name })...)
	roles := sets.New(namesOf(Roles(), func(r rbacv1.Role) string { return r.Namespace + "/" + r.Name })...)

	for _, b := range ClusterRoleBindings() {
		t.Run("ClusterRoleBinding "+b.Name, func(t *testing.T) {
			if b.RoleRef.APIGroup != rbacv1.GroupName || b.RoleRef.Kind != "ClusterRole" {
				t.Errorf("roleRef = %+v, want a ClusterRole in %s", b.RoleRef, rbacv1.GroupName)
			}
			if !clusterRoles.Has(b.RoleRef.Name) {
				t.Errorf("roleRef names ClusterRole %q, which is not in the policy", b.RoleRef.Name)
			}
		})
	}
	for _, b := range RoleBindings() {
		t.Run("RoleBinding "+b.Namespace+"/"+b.Name, func(t *testing.T) {
			if b.RoleRef.APIGroup != rbacv1.GroupName || b.RoleRef.Kind != "Role" {
				t.Errorf("roleRef = %+v, want a Role in %s", b.RoleRef, rbacv1.GroupName)
			}
			if !roles.Has(b.Namespace + "/" + b.RoleRef.Name) {
				t.Errorf("roleRef names Role %q, which is not in namespace %s", b.RoleRef.Name, b.Namespace)
			}
		})
	}
}

func TestBootstrapMetadata(t *testing.T) {
	type object struct {
		name        string
		labels      map[string]string
		annotations map[string]string
	}
	var objects []object
	for _, r := range ClusterRoles() {
		objects = append(objects, object{"ClusterRole " + r.Name, r.Labels, r.Annotations})
	}
	for _, b := range ClusterRoleBindings() {
		objects = append(objects, object{"ClusterRoleBinding " + b.Name, b.Labels, b.Annotations})
	}
	for _, r := range Roles() {
		objects = append(objects, object{"Role " + r.Namespace + "/" + r.Name, r.Labels, r.Annotations})
	}
	for _, b := range RoleBindings() {
		objects = append(objects, object{"RoleBinding " + b.Namespace + "/" + b.Name, b.Labels, b.Annotations})
	}
	for _, o := range objects {
		t.Run(o.name, func(t *testing.T) {
			if got := o.labels["kubernetes.io/bootstrapping"]; got != "rbac-defaults" {
				t.Errorf("label kubernetes.io/bootstrapping = %q, want rbac-defaults", got)
			}
			if want := map[string]string{"rbac.authorization.kubernetes.io/autoupdate": "true"}; !reflect.DeepEqual(o.annotations, want) {
				t.Errorf("annotations = %v, want %v", o.annotations, want)
			}
		})
	}
}

func TestControllerRolesBoundToTheirServiceAccounts(t *testing.T) {
	bindings := map[string]rbacv1.ClusterRoleBinding{}
	for _, b := range ClusterRoleBindings() {
		bindings[b.Name] = b
	}
	for _, r := range controllerClusterRoles() {
		t.Run(r.Name, func(t *testing.T) {
			if !strings.HasPrefix(r.Name, "system:controller:") {
				t.Fatalf("controller role %q lacks the system:controller: prefix", r.Name)
			}
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: strings.TrimPrefix(r.Name, "system:controller:")}}
			b, ok := bindings[r.Name]
			if !ok {
				t.Fatalf("no ClusterRoleBinding %q", r.Name)
			}
			if !reflect.DeepEqual(b.Subjects, want) {
				t.Errorf("subjects = %+v, want %+v", b.Subjects, want)
			}
		})
	}
}

func TestSelectedBindings(t *testing.T) {
	bindings := map[string]rbacv1.ClusterRoleBinding{}
	for _, b := range ClusterRoleBindings() {
		bindings[b.Name] = b
	}
	group := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: n}
	}
	usr := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: n}
	}
	tests := []struct {
		name     string
		subjects []rbacv1.Subject
	}{
		{name: "cluster-admin", subjects: []rbacv1.Subject{group("system:masters")}},
		{name: "system:public-info-viewer", subjects: []rbacv1.Subject{group("system:authenticated"), group("system:unauthenticated")}},
		{name: "system:discovery", subjects: []rbacv1.Subject{group("system:authenticated")}},
		{name: "system:basic-user", subjects: []rbacv1.Subject{group("system:authenticated")}},
		{name: "system:monitoring", subjects: []rbacv1.Subject{group("system:monitoring")}},
		{name: "system:service-account-issuer-discovery", subjects: []rbacv1.Subject{group("system:serviceaccounts")}},
		{name: "system:cluster-trust-bundle-discovery", subjects: []rbacv1.Subject{group("system:serviceaccounts")}},
		{name: "system:kube-dns", subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: "kube-dns"}}},
		{name: "system:volume-scheduler", subjects: []rbacv1.Subject{usr("system:kube-scheduler")}},
		// Deprecated binding kept without subjects.
		{name: "system:node", subjects: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := bindings[tc.name]
			if !ok {
				t.Fatalf("no ClusterRoleBinding %q", tc.name)
			}
			if !reflect.DeepEqual(b.Subjects, tc.subjects) {
				t.Errorf("subjects = %+v, want %+v", b.Subjects, tc.subjects)
			}
		})
	}
}

func TestAggregatedRolesOfPolicy(t *testing.T) {
	roles := map[string]rbacv1.ClusterRole{}
	for _, r := range ClusterRoles() {
		roles[r.Name] = r
	}
	union := func(names ...string) []rbacv1.PolicyRule {
		var rules []rbacv1.PolicyRule
		for _, n := range names {
			for _, rule := range roles[n].Rules {
				if !containsRule(rules, rule) {
					rules = append(rules, rule)
				}
			}
		}
		return rules
	}
	tests := []struct {
		name     string
		selector string
		rules    []rbacv1.PolicyRule
	}{
		// Selected roles are taken by name: "system:aggregate-to-edit" <
		// "system:aggregated-metrics-reader" < "view".
		{name: "view", selector: "rbac.authorization.k8s.io/aggregate-to-view", rules: union("system:aggregate-to-view", "system:aggregated-metrics-reader")},
		{name: "edit", selector: "rbac.authorization.k8s.io/aggregate-to-edit", rules: union("system:aggregate-to-edit", "system:aggregated-metrics-reader", "view")},
		{name: "admin", selector: "rbac.authorization.k8s.io/aggregate-to-admin", rules: union("edit", "system:aggregate-to-admin", "system:aggregated-metrics-reader")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := roles[tc.name]
			if r.AggregationRule == nil || len(r.AggregationRule.ClusterRoleSelectors) != 1 ||
				!reflect.DeepEqual(r.AggregationRule.ClusterRoleSelectors[0].MatchLabels, map[string]string{tc.selector: "true"}) {
				t.Fatalf("aggregationRule = %+v, want one selector %s=true", r.AggregationRule, tc.selector)
			}
			if len(r.Rules) == 0 {
				t.Fatal("no rules: aggregation was not filled in")
			}
			if !reflect.DeepEqual(r.Rules, tc.rules) {
				t.Errorf("rules =\n%v\nwant\n%v", r.Rules, tc.rules)
			}
		})
	}
	coverage := []struct{ owner, servant string }{{"admin", "edit"}, {"edit", "view"}}
	for _, c := range coverage {
		if covered, missing := validation.Covers(roles[c.owner].Rules, roles[c.servant].Rules); !covered {
			t.Errorf("%s does not cover %s: missing %v", c.owner, c.servant, missing)
		}
	}
}

func TestAggregate(t *testing.T) {
	rule := func(resource string) rbacv1.PolicyRule {
		return allow("get").groups("").resources(resource).build()
	}
	labeled := func(name string, labels map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
		return clusterRole(name, labels, rules...)
	}
	tests := []struct {
		name  string
		roles []rbacv1.ClusterRole
		want  map[string][]rbacv1.PolicyRule
	}{
		{
			name: "selected roles in name order, duplicates dropped",
			roles: []rbacv1.ClusterRole{
				aggregatedClusterRole("agg", nil, "pick"),
				labeled("z", map[string]string{"pick": "true"}, rule("pods"), rule("secrets")),
				labeled("a", map[string]string{"pick": "true"}, rule("secrets"), rule("configmaps")),
				labeled("unpicked", map[string]string{"pick": "false"}, rule("nodes")),
			},
			want: map[string][]rbacv1.PolicyRule{
				"agg":      {rule("secrets"), rule("configmaps"), rule("pods")},
				"z":        {rule("pods"), rule("secrets")},
				"a":        {rule("secrets"), rule("configmaps")},
				"unpicked": {rule("nodes")},
			},
		},
		{
			name: "nested aggregation converges whatever the order",
			roles: []rbacv1.ClusterRole{
				aggregatedClusterRole("top", nil, "to-top"),
				aggregatedClusterRole("middle", map[string]string{"to-top": "true"}, "to-middle"),
				labeled("leaf", map[string]string{"to-middle": "true"}, rule("pods")),
				labeled("extra", map[string]string{"to-top": "true"}, rule("secrets")),
			},
			want: map[string][]rbacv1.PolicyRule{
				"top":    {rule("secrets"), rule("pods")},
				"middle": {rule("pods")},
				"leaf":   {rule("pods")},
				"extra":  {rule("secrets")},
			},
		},
		{
			name: "a role does not aggregate itself, stored rules are replaced",
			roles: []rbacv1.ClusterRole{
				func() rbacv1.ClusterRole {
					r := aggregatedClusterRole("self", map[string]string{"pick": "true"}, "pick")
					r.Rules = []rbacv1.PolicyRule{rule("stale")}
					return r
				}(),
				labeled("other", map[string]string{"pick": "true"}, rule("pods")),
			},
			want: map[string][]rbacv1.PolicyRule{
				"self":  {rule("pods")},
				"other": {rule("pods")},
			},
		},
		{
			name: "nothing selected leaves no rules",
			roles: []rbacv1.ClusterRole{
				aggregatedClusterRole("empty", nil, "nobody"),
				labeled("other", nil, rule("pods")),
			},
			want: map[string][]rbacv1.PolicyRule{
				"empty": nil,
				"other": {rule("pods")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aggregate(tc.roles)
			for _, r := range tc.roles {
				if !reflect.DeepEqual(r.Rules, tc.want[r.Name]) {
					t.Errorf("%s rules = %v, want %v", r.Name, r.Rules, tc.want[r.Name])
				}
			}
		})
	}
}

func TestRuleBuilder(t *testing.T) {
	got := allow("watch", "get", "get").groups("b", "a").resources("pods", "configmaps").names("y", "x").build()
	want := rbacv1.PolicyRule{Verbs: []string{"get", "watch"}, APIGroups: []string{"a", "b"}, Resources: []string{"configmaps", "pods"}, ResourceNames: []string{"x", "y"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("build() = %+v, want %+v", got, want)
	}

	invalid := []struct {
		name    string
		builder *ruleBuilder
		panic   string
	}{
		{name: "no verbs", builder: allow().groups("").resources("pods"), panic: "verbs are required"},
		{name: "urls with resources", builder: allow("get").groups("").resources("pods").urls("/x"), panic: "non-resource rules cannot name"},
		{name: "resources without groups", builder: allow("get").resources("pods"), panic: "resource rules need API groups"},
		{name: "neither resources nor urls", builder: allow("get").groups(""), panic: "a rule needs resources or non-resource URLs"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.panic) {
					t.Errorf("panic = %v, want one containing %q", r, tc.panic)
				}
			}()
			tc.builder.build()
		})
	}
}

func namesOf[T any](objs []T, name func(T) string) []string {
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		names = append(names, name(o))
	}
	return names
}
