package rbac

import (
	"context"
	"errors"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
)

func withUser(u user.Info) context.Context {
	return request.WithUser(context.Background(), u)
}

func TestEscalationAllowed(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{name: "system:masters", ctx: withUser(&user.DefaultInfo{Name: "admin", Groups: []string{user.AllAuthenticated, user.SystemPrivilegedGroup}}), want: true},
		{name: "other groups", ctx: withUser(alice), want: false},
		{name: "no user", ctx: context.Background(), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EscalationAllowed(tc.ctx); got != tc.want {
				t.Errorf("EscalationAllowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRoleEscalationAuthorized(t *testing.T) {
	a := newTestAuthorizer(t,
		clusterRole("escalator", resourceRule(list("escalate"), list(rbacv1.GroupName), list("roles"))),
		clusterRole("cr-escalator", resourceRule(list("escalate"), list(rbacv1.GroupName), list("clusterroles"), "special")),
		clusterRole("pod-escalator", resourceRule(list("escalate"), list(""), list("pods"))),
		roleBinding("ns1", "alice-escalate", "ClusterRole", "escalator", userSubject("alice")),
		clusterRoleBinding("alice-cr-escalate", "cr-escalator", userSubject("alice")),
		clusterRoleBinding("alice-pod-escalate", "pod-escalator", userSubject("alice")),
	)
	withRequest := func(u user.Info, info *request.RequestInfo) context.Context {
		ctx := context.Background()
		if u != nil {
			ctx = request.WithUser(ctx, u)
		}
		if info != nil {
			ctx = request.WithRequestInfo(ctx, info)
		}
		return ctx
	}
	roleInfo := func(namespace, resource, name string) *request.RequestInfo {
		return &request.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: rbacv1.GroupName, APIVersion: "v1", Namespace: namespace, Resource: resource, Name: name}
	}

	tests := []struct {
		name       string
		ctx        context.Context
		authorizer authorizer.Authorizer
		want       bool
	}{
		{name: "escalate on roles in the namespace", ctx: withRequest(alice, roleInfo("ns1", "roles", "r")), authorizer: a, want: true},
		{name: "escalate on roles in another namespace", ctx: withRequest(alice, roleInfo("ns2", "roles", "r")), authorizer: a, want: false},
		{name: "escalate on the named clusterrole", ctx: withRequest(alice, roleInfo("", "clusterroles", "special")), authorizer: a, want: true},
		{name: "escalate on another clusterrole", ctx: withRequest(alice, roleInfo("", "clusterroles", "other")), authorizer: a, want: false},
		{name: "not a role resource", ctx: withRequest(alice, &request.RequestInfo{IsResourceRequest: true, Resource: "pods", Name: "p", Namespace: "ns1"}), authorizer: a, want: false},
		{name: "roles in another group", ctx: withRequest(alice, &request.RequestInfo{IsResourceRequest: true, APIGroup: "example.com", Resource: "roles", Namespace: "ns1"}), authorizer: a, want: false},
		{name: "non-resource request", ctx: withRequest(alice, &request.RequestInfo{Path: "/healthz"}), authorizer: a, want: false},
		{name: "no request info", ctx: withRequest(alice, nil), authorizer: a, want: false},
		{name: "no user", ctx: withRequest(nil, roleInfo("ns1", "roles", "r")), authorizer: a, want: false},
		{name: "no authorizer", ctx: withRequest(alice, roleInfo("ns1", "roles", "r")), authorizer: nil, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RoleEscalationAuthorized(tc.ctx, tc.authorizer); got != tc.want {
				t.Errorf("RoleEscalationAuthorized = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBindingAuthorized(t *testing.T) {
	a := newTestAuthorizer(t,
		clusterRole("binder", resourceRule(list("bind"), list(rbacv1.GroupName), list("clusterroles"), "view")),
		clusterRole("role-binder", resourceRule(list("bind"), list(rbacv1.GroupName), list("roles"))),
		clusterRoleBinding("alice-bind-view", "binder", userSubject("alice")),
		roleBinding("ns1", "bob-bind-roles", "ClusterRole", "role-binder", userSubject("bob")),
	)
	clusterRoleRef := func(name string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	}
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "any"}

	tests := []struct {
		name       string
		ctx        context.Context
		roleRef    rbacv1.RoleRef
		namespace  string
		authorizer authorizer.Authorizer
		want       bool
	}{
		{name: "named clusterrole in a ClusterRoleBinding", ctx: withUser(alice), roleRef: clusterRoleRef("view"), authorizer: a, want: true},
		{name: "named clusterrole in a RoleBinding", ctx: withUser(alice), roleRef: clusterRoleRef("view"), namespace: "ns1", authorizer: a, want: true},
		{name: "other clusterrole", ctx: withUser(alice), roleRef: clusterRoleRef("admin"), authorizer: a, want: false},
		{name: "role in the namespace bind is granted in", ctx: withUser(bob), roleRef: roleRef, namespace: "ns1", authorizer: a, want: true},
		{name: "role in another namespace", ctx: withUser(bob), roleRef: roleRef, namespace: "ns2", authorizer: a, want: false},
		{name: "bind on roles does not cover clusterroles", ctx: withUser(bob), roleRef: clusterRoleRef("view"), namespace: "ns1", authorizer: a, want: false},
		{name: "unknown kind", ctx: withUser(alice), roleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "view"}, authorizer: a, want: false},
		{name: "no user", ctx: context.Background(), roleRef: clusterRoleRef("view"), authorizer: a, want: false},
		{name: "no authorizer", ctx: withUser(alice), roleRef: clusterRoleRef("view"), authorizer: nil, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BindingAuthorized(tc.ctx, tc.roleRef, tc.namespace, tc.authorizer); got != tc.want {
				t.Errorf("BindingAuthorized = %v, want %v", got, tc.want)
			}
		})
	}
}

// failingResolver returns fixed rules and a resolution error.
type failingResolver struct {
	rules []rbacv1.PolicyRule
}

func (r failingResolver) PolicyRulesFor(context.Context, user.Info, string) ([]rbacv1.PolicyRule, error) {
	return r.rules, errors.New("clusterrole.rbac.authorization.k8s.io \"gone\" not found")
}

func TestConfirmNoEscalation(t *testing.T) {
	a := newTestAuthorizer(t,
		clusterRole("pod-reader", resourceRule(list("get", "list", "watch"), list(""), list("pods"))),
		clusterRole("health", urlRule(list("get"), "/healthz/*")),
		role("ns1", "cm-all", resourceRule(list("*"), list(""), list("configmaps"))),
		clusterRoleBinding("alice-pods", "pod-reader", userSubject("alice")),
		clusterRoleBinding("alice-health", "health", groupSubject("devs")),
		roleBinding("ns1", "alice-cm", "Role", "cm-all", userSubject("alice")),
	)
	inNamespace := func(ctx context.Context, ns string) context.Context {
		return request.WithNamespace(ctx, ns)
	}

	tests := []struct {
		name     string
		ctx      context.Context
		resolver PolicyRuleResolver
		rules    []rbacv1.PolicyRule
		want     string
	}{
		{
			name:     "held cluster-wide",
			ctx:      withUser(alice),
			resolver: a,
			rules: []rbacv1.PolicyRule{
				resourceRule(list("get", "watch"), list(""), list("pods")),
				urlRule(list("get"), "/healthz/etcd"),
			},
		},
		{
			name:     "held in the namespace on the context",
			ctx:      inNamespace(withUser(alice), "ns1"),
			resolver: a,
			rules:    []rbacv1.PolicyRule{resourceRule(list("create", "delete"), list(""), list("configmaps"), "app")},
		},
		{
			name:     "no rules to grant",
			ctx:      withUser(bob),
			resolver: a,
		},
		{
			name:     "namespaced permissions do not count cluster-wide",
			ctx:      withUser(alice),
			resolver: a,
			rules:    []rbacv1.PolicyRule{resourceRule(list("create"), list(""), list("configmaps"))},
			want:     "user \"alice\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"create\"]}",
		},
		{
			name:     "missing permissions are compacted and sorted",
			ctx:      inNamespace(withUser(alice), "ns1"),
			resolver: a,
			rules: []rbacv1.PolicyRule{
				urlRule(list("get", "post"), "/healthz", "/healthz/etcd"),
				resourceRule(list("get", "create", "delete"), list("", "apps"), list("pods", "deployments")),
				resourceRule(list("get"), list(""), list("secrets"), "token"),
			},
			want: "user \"alice\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n" +
				"{APIGroups:[\"\"], Resources:[\"deployments\"], Verbs:[\"get\" \"create\" \"delete\"]}\n" +
				"{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"create\" \"delete\"]}\n" +
				"{APIGroups:[\"\"], Resources:[\"secrets\"], ResourceNames:[\"token\"], Verbs:[\"get\"]}\n" +
				"{APIGroups:[\"apps\"], Resources:[\"deployments\"], Verbs:[\"get\" \"create\" \"delete\"]}\n" +
				"{APIGroups:[\"apps\"], Resources:[\"pods\"], Verbs:[\"get\" \"create\" \"delete\"]}\n" +
				"{NonResourceURLs:[\"/healthz\"], Verbs:[\"get\"]}\n" +
				"{NonResourceURLs:[\"/healthz\"], Verbs:[\"post\"]}\n" +
				"{NonResourceURLs:[\"/healthz/etcd\"], Verbs:[\"post\"]}",
		},
		{
			name:     "resolution errors are appended",
			ctx:      withUser(bob),
			resolver: failingResolver{rules: []rbacv1.PolicyRule{resourceRule(list("get"), list(""), list("pods"))}},
			rules:    []rbacv1.PolicyRule{resourceRule(list("get", "list"), list(""), list("pods"))},
			want: "user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n" +
				"{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"list\"]}; resolution errors: [clusterrole.rbac.authorization.k8s.io \"gone\" not found]",
		},
		{
			name:     "resolution errors do not matter when covered",
			ctx:      withUser(bob),
			resolver: failingResolver{rules: []rbacv1.PolicyRule{resourceRule(list("get"), list(""), list("pods"))}},
			rules:    []rbacv1.PolicyRule{resourceRule(list("get"), list(""), list("pods"))},
		},
		{
			name:     "no user",
			ctx:      context.Background(),
			resolver: a,
			want:     "no user on context",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ConfirmNoEscalation(tc.ctx, tc.resolver, tc.rules)
			if got := errString(err); got != tc.want {
				t.Errorf("ConfirmNoEscalation error:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestCompactRulesDoesNotModifyInput(t *testing.T) {
	in := []rbacv1.PolicyRule{
		resourceRule(list("get"), list(""), list("pods")),
		resourceRule(list("list"), list(""), list("pods")),
	}
	out := compactRules(in)
	if len(out) != 1 || len(out[0].Verbs) != 2 {
		t.Fatalf("compactRules = %v, want one rule with two verbs", out)
	}
	if len(in[0].Verbs) != 1 {
		t.Errorf("input modified: %v", in)
	}
}
