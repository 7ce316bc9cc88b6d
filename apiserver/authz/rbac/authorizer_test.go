package rbac

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

var (
	alice     = &user.DefaultInfo{Name: "alice", Groups: []string{"devs", user.AllAuthenticated}}
	bob       = &user.DefaultInfo{Name: "bob", Groups: []string{user.AllAuthenticated}}
	builder   = &user.DefaultInfo{Name: "system:serviceaccount:ns1:builder", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", user.AllAuthenticated}}
	anonymous = &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}
)

func resourceAttrs(u user.Info, verb, namespace, group, resource, subresource, name string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{
		User: u, Verb: verb, Namespace: namespace, APIGroup: group, APIVersion: "v1",
		Resource: resource, Subresource: subresource, Name: name, ResourceRequest: true,
	}
}

func pathAttrs(u user.Info, verb, path string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{User: u, Verb: verb, Path: path}
}

func TestAuthorize(t *testing.T) {
	objects := []runtime.Object{
		clusterRole("pod-reader", resourceRule(list("get", "list", "watch"), list(""), list("pods"))),
		clusterRole("log-reader", resourceRule(list("get"), list(""), list("pods/log"))),
		clusterRole("scaler", resourceRule(list("get", "update"), list("*"), list("*/scale"))),
		clusterRole("one-secret", resourceRule(list("get", "update"), list(""), list("secrets"), "token", "cert")),
		clusterRole("everything", resourceRule(list("*"), list("*"), list("*"))),
		clusterRole("health", urlRule(list("get"), "/healthz", "/apis/*", "/foo*")),
		clusterRole("all-urls", urlRule(list("*"), "*")),
		clusterRole("deployer", resourceRule(list("create"), list("apps"), list("deployments"))),
		// Aggregated roles are evaluated by their stored rules, which here are none.
		&rbacv1.ClusterRole{
			ObjectMeta:      clusterRole("aggregated").ObjectMeta,
			AggregationRule: &rbacv1.AggregationRule{},
		},
		role("ns1", "cm-editor", resourceRule(list("update"), list(""), list("configmaps"))),

		clusterRoleBinding("alice-pods", "pod-reader", userSubject("alice")),
		clusterRoleBinding("devs-logs", "log-reader", groupSubject("devs")),
		clusterRoleBinding("alice-scale", "scaler", userSubject("alice")),
		clusterRoleBinding("alice-secret", "one-secret", userSubject("alice")),
		clusterRoleBinding("health", "health", groupSubject(user.AllUnauthenticated)),
		clusterRoleBinding("root", "everything", userSubject("root")),
		clusterRoleBinding("root-urls", "all-urls", userSubject("root")),
		clusterRoleBinding("bob-aggregated", "aggregated", userSubject("bob")),
		// A ServiceAccount subject without a namespace never matches in a ClusterRoleBinding.
		clusterRoleBinding("sa-no-ns", "everything", saSubject("", "builder")),
		clusterRoleBinding("sa-cluster", "pod-reader", saSubject("ns1", "builder")),

		roleBinding("ns1", "builder-cm", "Role", "cm-editor", saSubject("", "builder")),
		roleBinding("ns1", "bob-deployer", "ClusterRole", "deployer", groupSubject("nobody"), userSubject("bob")),
		roleBinding("ns2", "bob-missing", "Role", "missing", userSubject("bob")),
		roleBinding("ns3", "bob-bad-kind", "Foo", "x", userSubject("bob")),
		clusterRoleBinding("dave-gone", "gone", userSubject("dave")),
		roleBinding("ns2", "dave-deployer", "ClusterRole", "deployer", userSubject("dave")),
	}
	a := newTestAuthorizer(t, objects...)

	tests := []struct {
		name     string
		attrs    authorizer.AttributesRecord
		decision authorizer.Decision
		reason   string
	}{
		{
			name:     "user bound cluster-wide, any namespace",
			attrs:    resourceAttrs(alice, "list", "ns9", "", "pods", "", ""),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" to User "alice"`,
		},
		{
			name:     "user bound cluster-wide, cluster scope",
			attrs:    resourceAttrs(alice, "watch", "", "", "pods", "", ""),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" to User "alice"`,
		},
		{
			name:     "verb not in rule",
			attrs:    resourceAttrs(alice, "delete", "ns1", "", "pods", "", ""),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "api group not in rule",
			attrs:    resourceAttrs(alice, "get", "ns1", "apps", "pods", "", ""),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "resource rule does not cover its subresource",
			attrs:    resourceAttrs(alice, "get", "ns1", "", "pods", "exec", "p"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "group subject and subresource rule",
			attrs:    resourceAttrs(alice, "get", "ns1", "", "pods", "log", "p"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "devs-logs" of ClusterRole "log-reader" to Group "devs"`,
		},
		{
			name:     "subresource rule does not cover the resource",
			attrs:    resourceAttrs(&user.DefaultInfo{Name: "carol", Groups: []string{"devs"}}, "get", "ns1", "", "pods", "", "p"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "*/subresource in any group",
			attrs:    resourceAttrs(alice, "update", "ns1", "apps", "deployments", "scale", "d"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "alice-scale" of ClusterRole "scaler" to User "alice"`,
		},
		{
			name:     "*/subresource does not match another subresource",
			attrs:    resourceAttrs(alice, "update", "ns1", "apps", "deployments", "status", "d"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "*/subresource does not match the resource",
			attrs:    resourceAttrs(alice, "update", "ns1", "apps", "deployments", "", "d"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "resourceNames allow a listed name",
			attrs:    resourceAttrs(alice, "update", "ns1", "", "secrets", "", "cert"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "alice-secret" of ClusterRole "one-secret" to User "alice"`,
		},
		{
			name:     "resourceNames refuse another name",
			attrs:    resourceAttrs(alice, "get", "ns1", "", "secrets", "", "other"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "resourceNames refuse a request without a name",
			attrs:    resourceAttrs(alice, "get", "ns1", "", "secrets", "", ""),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "star verb, group and resource",
			attrs:    resourceAttrs(&user.DefaultInfo{Name: "root"}, "escalate", "", "rbac.authorization.k8s.io", "clusterroles", "", "x"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "root" of ClusterRole "everything" to User "root"`,
		},
		{
			name:     "star resource covers subresources",
			attrs:    resourceAttrs(&user.DefaultInfo{Name: "root"}, "create", "ns1", "", "pods", "eviction", "p"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "root" of ClusterRole "everything" to User "root"`,
		},
		{
			name:     "resource rules do not cover non-resource URLs",
			attrs:    pathAttrs(alice, "get", "/healthz"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "exact non-resource URL",
			attrs:    pathAttrs(anonymous, "get", "/healthz"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "health" of ClusterRole "health" to Group "system:unauthenticated"`,
		},
		{
			name:     "exact non-resource URL does not match below it",
			attrs:    pathAttrs(anonymous, "get", "/healthz/etcd"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "non-resource URL prefix",
			attrs:    pathAttrs(anonymous, "get", "/apis/apps/v1"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "health" of ClusterRole "health" to Group "system:unauthenticated"`,
		},
		{
			name:     "non-resource URL prefix needs the slash",
			attrs:    pathAttrs(anonymous, "get", "/apis"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "non-resource URL prefix without slash",
			attrs:    pathAttrs(anonymous, "get", "/foobar"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "health" of ClusterRole "health" to Group "system:unauthenticated"`,
		},
		{
			name:     "non-resource verb must match",
			attrs:    pathAttrs(anonymous, "post", "/healthz"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "non-resource star",
			attrs:    pathAttrs(&user.DefaultInfo{Name: "root"}, "put", "/anything/at/all"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "root-urls" of ClusterRole "all-urls" to User "root"`,
		},
		{
			name:     "service account in a RoleBinding takes the binding's namespace",
			attrs:    resourceAttrs(builder, "update", "ns1", "", "configmaps", "", "c"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by RoleBinding "builder-cm/ns1" of Role "cm-editor" to ServiceAccount "builder/ns1"`,
		},
		{
			name:     "service account with a namespace in a ClusterRoleBinding",
			attrs:    resourceAttrs(builder, "get", "ns5", "", "pods", "", "p"),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by ClusterRoleBinding "sa-cluster" of ClusterRole "pod-reader" to ServiceAccount "builder/ns1"`,
		},
		{
			name:     "service account without a namespace never matches cluster-wide",
			attrs:    resourceAttrs(builder, "delete", "ns1", "", "pods", "", "p"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "same service account name in another namespace does not match",
			attrs:    resourceAttrs(&user.DefaultInfo{Name: "system:serviceaccount:ns2:builder"}, "update", "ns1", "", "configmaps", "", "c"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "RoleBinding applies only in its namespace",
			attrs:    resourceAttrs(builder, "update", "ns2", "", "configmaps", "", "c"),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "RoleBinding does not apply cluster-wide",
			attrs:    resourceAttrs(bob, "create", "", "apps", "deployments", "", ""),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "RoleBinding to a ClusterRole grants it in the namespace, first matching subject",
			attrs:    resourceAttrs(bob, "create", "ns1", "apps", "deployments", "", ""),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by RoleBinding "bob-deployer/ns1" of ClusterRole "deployer" to User "bob"`,
		},
		{
			name:     "aggregated ClusterRole is read by its stored rules",
			attrs:    resourceAttrs(bob, "get", "", "", "pods", "", ""),
			decision: authorizer.DecisionNoOpinion,
		},
		{
			name:     "missing role is reported in the reason",
			attrs:    resourceAttrs(bob, "get", "ns2", "", "pods", "", ""),
			decision: authorizer.DecisionNoOpinion,
			reason:   `RBAC: role.rbac.authorization.k8s.io "missing" not found`,
		},
		{
			name:     "unknown role kind is reported in the reason",
			attrs:    resourceAttrs(bob, "get", "ns3", "", "pods", "", ""),
			decision: authorizer.DecisionNoOpinion,
			reason:   `RBAC: unsupported role reference kind: "Foo"`,
		},
		{
			name:     "missing role does not hide later bindings",
			attrs:    resourceAttrs(&user.DefaultInfo{Name: "dave"}, "create", "ns2", "apps", "deployments", "", ""),
			decision: authorizer.DecisionAllow,
			reason:   `RBAC: allowed by RoleBinding "dave-deployer/ns2" of ClusterRole "deployer" to User "dave"`,
		},
		{
			name:     "missing cluster role without another grant",
			attrs:    resourceAttrs(&user.DefaultInfo{Name: "dave"}, "create", "ns1", "apps", "deployments", "", ""),
			decision: authorizer.DecisionNoOpinion,
			reason:   `RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found`,
		},
		{
			name:     "request without a user",
			attrs:    resourceAttrs(nil, "get", "ns1", "", "pods", "", ""),
			decision: authorizer.DecisionNoOpinion,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decision, reason, err := a.Authorize(context.Background(), tc.attrs)
			if err != nil {
				t.Fatalf("Authorize returned error %v", err)
			}
			if decision != tc.decision || reason != tc.reason {
				t.Errorf("Authorize = (%v, %q), want (%v, %q)", decision, reason, tc.decision, tc.reason)
			}
			cond := a.ConditionsAwareAuthorize(context.Background(), tc.attrs)
			if cond.IsAllow() != (tc.decision == authorizer.DecisionAllow) || cond.Reason() != tc.reason {
				t.Errorf("ConditionsAwareAuthorize = %v, want decision %v reason %q", cond, tc.decision, tc.reason)
			}
		})
	}
}

func TestAuthorizeMultipleErrors(t *testing.T) {
	a := newTestAuthorizer(t,
		clusterRoleBinding("b1", "gone-1", userSubject("bob")),
		clusterRoleBinding("b2", "gone-2", userSubject("bob")),
	)
	_, reason, _ := a.Authorize(context.Background(), resourceAttrs(bob, "get", "", "", "pods", "", ""))
	// Listers return bindings in no particular order.
	want1 := `RBAC: [clusterrole.rbac.authorization.k8s.io "gone-1" not found, clusterrole.rbac.authorization.k8s.io "gone-2" not found]`
	want2 := `RBAC: [clusterrole.rbac.authorization.k8s.io "gone-2" not found, clusterrole.rbac.authorization.k8s.io "gone-1" not found]`
	if reason != want1 && reason != want2 {
		t.Errorf("reason = %q, want %q (in either order)", reason, want1)
	}
}

func TestEvaluateConditions(t *testing.T) {
	a := newTestAuthorizer(t)
	decision, _, err := a.EvaluateConditions(context.Background(), authorizer.ConditionsAwareDecision{}, nil)
	if decision != authorizer.DecisionDeny || !errors.Is(err, authorizer.ErrorConditionEvaluationNotSupported) {
		t.Errorf("EvaluateConditions = (%v, %v), want (Deny, ErrorConditionEvaluationNotSupported)", decision, err)
	}
}

func TestRulesFor(t *testing.T) {
	podRule := resourceRule(list("get"), list(""), list("pods"))
	mixedRule := rbacv1.PolicyRule{Verbs: list("get"), APIGroups: list(""), Resources: list("nodes"), NonResourceURLs: list("/metrics")}
	healthRule := urlRule(list("get"), "/healthz")
	cmRule := resourceRule(list("update"), list(""), list("configmaps"), "app")
	a := newTestAuthorizer(t,
		clusterRole("pods", podRule, healthRule),
		clusterRole("mixed", mixedRule),
		role("ns1", "cm", cmRule),
		clusterRoleBinding("alice-pods", "pods", userSubject("alice")),
		clusterRoleBinding("devs-mixed", "mixed", groupSubject("devs")),
		roleBinding("ns1", "alice-cm", "Role", "cm", userSubject("alice")),
		roleBinding("ns2", "alice-missing", "Role", "missing", userSubject("alice")),
	)

	tests := []struct {
		name        string
		namespace   string
		resource    []authorizer.ResourceRuleInfo
		nonResource []authorizer.NonResourceRuleInfo
		err         string
	}{
		{
			name:      "cluster-wide only",
			namespace: "",
			resource: []authorizer.ResourceRuleInfo{
				&authorizer.DefaultResourceRuleInfo{Verbs: list("get"), APIGroups: list(""), Resources: list("pods")},
				&authorizer.DefaultResourceRuleInfo{Verbs: list("get"), APIGroups: list(""), Resources: list("nodes")},
			},
			nonResource: []authorizer.NonResourceRuleInfo{
				&authorizer.DefaultNonResourceRuleInfo{Verbs: list("get"), NonResourceURLs: list("/healthz")},
				&authorizer.DefaultNonResourceRuleInfo{Verbs: list("get"), NonResourceURLs: list("/metrics")},
			},
		},
		{
			name:      "cluster-wide then namespaced",
			namespace: "ns1",
			resource: []authorizer.ResourceRuleInfo{
				&authorizer.DefaultResourceRuleInfo{Verbs: list("get"), APIGroups: list(""), Resources: list("pods")},
				&authorizer.DefaultResourceRuleInfo{Verbs: list("get"), APIGroups: list(""), Resources: list("nodes")},
				&authorizer.DefaultResourceRuleInfo{Verbs: list("update"), APIGroups: list(""), Resources: list("configmaps"), ResourceNames: list("app")},
			},
			nonResource: []authorizer.NonResourceRuleInfo{
				&authorizer.DefaultNonResourceRuleInfo{Verbs: list("get"), NonResourceURLs: list("/healthz")},
				&authorizer.DefaultNonResourceRuleInfo{Verbs: list("get"), NonResourceURLs: list("/metrics")},
			},
		},
		{
			name:      "rules found are returned with the error",
			namespace: "ns2",
			resource: []authorizer.ResourceRuleInfo{
				&authorizer.DefaultResourceRuleInfo{Verbs: list("get"), APIGroups: list(""), Resources: list("pods")},
				&authorizer.DefaultResourceRuleInfo{Verbs: list("get"), APIGroups: list(""), Resources: list("nodes")},
			},
			nonResource: []authorizer.NonResourceRuleInfo{
				&authorizer.DefaultNonResourceRuleInfo{Verbs: list("get"), NonResourceURLs: list("/healthz")},
				&authorizer.DefaultNonResourceRuleInfo{Verbs: list("get"), NonResourceURLs: list("/metrics")},
			},
			err: `role.rbac.authorization.k8s.io "missing" not found`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resource, nonResource, incomplete, err := a.RulesFor(context.Background(), alice, tc.namespace)
			if incomplete {
				t.Errorf("incomplete = true, want false")
			}
			if got := errString(err); got != tc.err {
				t.Errorf("error = %q, want %q", got, tc.err)
			}
			// Listers return bindings in no particular order: compare as sets.
			if got, want := describeResourceRules(resource), describeResourceRules(tc.resource); !reflect.DeepEqual(got, want) {
				t.Errorf("resource rules = %q, want %q", got, want)
			}
			if got, want := describeNonResourceRules(nonResource), describeNonResourceRules(tc.nonResource); !reflect.DeepEqual(got, want) {
				t.Errorf("non-resource rules = %q, want %q", got, want)
			}
		})
	}
}

func TestRoleRefRules(t *testing.T) {
	podRule := resourceRule(list("get"), list(""), list("pods"))
	cmRule := resourceRule(list("get"), list(""), list("configmaps"))
	a := newTestAuthorizer(t, clusterRole("pods", podRule), role("ns1", "cm", cmRule))

	tests := []struct {
		name      string
		roleRef   rbacv1.RoleRef
		namespace string
		rules     []rbacv1.PolicyRule
		err       string
	}{
		{name: "cluster role", roleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pods"}, rules: []rbacv1.PolicyRule{podRule}},
		{name: "cluster role from a namespace", roleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pods"}, namespace: "ns1", rules: []rbacv1.PolicyRule{podRule}},
		{name: "role in its namespace", roleRef: rbacv1.RoleRef{Kind: "Role", Name: "cm"}, namespace: "ns1", rules: []rbacv1.PolicyRule{cmRule}},
		{name: "role in another namespace", roleRef: rbacv1.RoleRef{Kind: "Role", Name: "cm"}, namespace: "ns2", err: `role.rbac.authorization.k8s.io "cm" not found`},
		{name: "missing cluster role", roleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "nope"}, err: `clusterrole.rbac.authorization.k8s.io "nope" not found`},
		{name: "unknown kind", roleRef: rbacv1.RoleRef{Kind: "Group", Name: "x"}, err: `unsupported role reference kind: "Group"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := a.RoleRefRules(context.Background(), tc.roleRef, tc.namespace)
			if got := errString(err); got != tc.err {
				t.Errorf("error = %q, want %q", got, tc.err)
			}
			if !reflect.DeepEqual(rules, tc.rules) {
				t.Errorf("rules = %v, want %v", rules, tc.rules)
			}
		})
	}
}

func describeResourceRules(rules []authorizer.ResourceRuleInfo) []string {
	var out []string
	for _, r := range rules {
		out = append(out, fmt.Sprintf("%q %q %q %q", r.GetVerbs(), r.GetAPIGroups(), r.GetResources(), r.GetResourceNames()))
	}
	sort.Strings(out)
	return out
}

func describeNonResourceRules(rules []authorizer.NonResourceRuleInfo) []string {
	var out []string
	for _, r := range rules {
		out = append(out, fmt.Sprintf("%q %q", r.GetVerbs(), r.GetNonResourceURLs()))
	}
	sort.Strings(out)
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
