package rbacpolicy

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
)

// listed is what one LIST per kind found before a pass, keyed by
// namespace/name. A reconcile reads its object from here once instead of
// with a GET of its own; every retry (after AlreadyExists, NotFound or a
// Conflict, when the list was stale) reads the live object, so a pass ends
// exactly as upstream's one GET per object does.
type listed struct {
	clusterRoles        map[string]*rbacv1.ClusterRole
	clusterRoleBindings map[string]*rbacv1.ClusterRoleBinding
	roles               map[string]*rbacv1.Role
	roleBindings        map[string]*rbacv1.RoleBinding
}

// list reads the four kinds, each with one LIST across all namespaces.
func list(ctx context.Context, client rbacv1client.RbacV1Interface) (*listed, error) {
	l := &listed{
		clusterRoles:        map[string]*rbacv1.ClusterRole{},
		clusterRoleBindings: map[string]*rbacv1.ClusterRoleBinding{},
		roles:               map[string]*rbacv1.Role{},
		roleBindings:        map[string]*rbacv1.RoleBinding{},
	}
	crs, err := client.ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list ClusterRoles: %w", err)
	}
	for i := range crs.Items {
		l.clusterRoles[crs.Items[i].Name] = &crs.Items[i]
	}
	crbs, err := client.ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list ClusterRoleBindings: %w", err)
	}
	for i := range crbs.Items {
		l.clusterRoleBindings[crbs.Items[i].Name] = &crbs.Items[i]
	}
	rs, err := client.Roles(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Roles: %w", err)
	}
	for i := range rs.Items {
		l.roles[key(rs.Items[i].Namespace, rs.Items[i].Name)] = &rs.Items[i]
	}
	rbs, err := client.RoleBindings(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list RoleBindings: %w", err)
	}
	for i := range rbs.Items {
		l.roleBindings[key(rbs.Items[i].Namespace, rbs.Items[i].Name)] = &rbs.Items[i]
	}
	return l, nil
}

func key(namespace, name string) string { return namespace + "/" + name }

// listedRoleModifier answers its first Get from the list, later ones
// from the server. One is made per reconciled object.
type listedRoleModifier struct {
	reconciliation.RuleOwnerModifier
	first reconciliation.RuleOwner // nil: not in the list
	gr    schema.GroupResource
	used  bool
}

func (m *listedRoleModifier) Get(namespace, name string) (reconciliation.RuleOwner, error) {
	if m.used {
		return m.RuleOwnerModifier.Get(namespace, name)
	}
	m.used = true
	if m.first == nil {
		return nil, apierrors.NewNotFound(m.gr, name)
	}
	return m.first, nil
}

// listedBindingModifier is listedRoleModifier for bindings.
type listedBindingModifier struct {
	reconciliation.RoleBindingModifier
	first reconciliation.RoleBinding // nil: not in the list
	gr    schema.GroupResource
	used  bool
}

func (m *listedBindingModifier) Get(namespace, name string) (reconciliation.RoleBinding, error) {
	if m.used {
		return m.RoleBindingModifier.Get(namespace, name)
	}
	m.used = true
	if m.first == nil {
		return nil, apierrors.NewNotFound(m.gr, name)
	}
	return m.first, nil
}
