// Package rbac declares rbac.authorization.k8s.io/v1: Roles, ClusterRoles
// and their bindings, with upstream's escalation prevention — a user may
// only write a role granting what they hold (or have the escalate verb),
// and only bind a role they hold (or have the bind verb).
package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	rbacvalidation "github.com/skiff-dev/skiff/apiserver/validation/rbac"
)

// Checks are the escalation checks; a nil Checks allows every write (RBAC
// authorization off).
type Checks interface {
	// Role returns an error (shown to the user) unless the requester may
	// write a role in namespace ("" for cluster roles) granting rules.
	Role(ctx context.Context, resource schema.GroupResource, namespace string, rules []rbacv1.PolicyRule) error
	// Binding returns an error unless the requester may bind roleRef in
	// namespace ("" for cluster role bindings).
	Binding(ctx context.Context, namespace string, roleRef rbacv1.RoleRef) error
	// Aggregation returns an error unless the requester may write a
	// ClusterRole with an aggregationRule.
	Aggregation(ctx context.Context) error
}

// Resources returns the RBAC resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor, checks Checks) []registry.Resource {
	gv := rbacv1.SchemeGroupVersion
	t := func(r string) rest.TableConvertor { return tables(gv.WithResource(r).GroupResource()) }
	guard := func(check func(ctx context.Context, obj runtime.Object) error) func(*registry.REST, map[string]rest.Storage) error {
		return func(main *registry.REST, storages map[string]rest.Storage) error {
			if checks != nil {
				storages[main.DefaultQualifiedResource.Resource] = &guarded{REST: main, check: check}
			}
			return nil
		}
	}
	return []registry.Resource{
		&registry.Definition[*rbacv1.Role]{
			GroupVersion: gv, Resource: "roles", Singular: "role", Kind: "Role", Namespaced: true,
			New:            func() *rbacv1.Role { return &rbacv1.Role{} },
			NewList:        func() runtime.Object { return &rbacv1.RoleList{} },
			Validate:       rbacvalidation.ValidateRole,
			ValidateUpdate: rbacvalidation.ValidateRoleUpdate,
			TableConvertor: t("roles"),
			Extend: guard(func(ctx context.Context, obj runtime.Object) error {
				r := obj.(*rbacv1.Role)
				return checks.Role(ctx, gv.WithResource("roles").GroupResource(), r.Namespace, r.Rules)
			}),
		},
		&registry.Definition[*rbacv1.ClusterRole]{
			GroupVersion: gv, Resource: "clusterroles", Singular: "clusterrole", Kind: "ClusterRole",
			New:            func() *rbacv1.ClusterRole { return &rbacv1.ClusterRole{} },
			NewList:        func() runtime.Object { return &rbacv1.ClusterRoleList{} },
			Validate:       rbacvalidation.ValidateClusterRole,
			ValidateUpdate: rbacvalidation.ValidateClusterRoleUpdate,
			TableConvertor: t("clusterroles"),
			Extend: guard(func(ctx context.Context, obj runtime.Object) error {
				r := obj.(*rbacv1.ClusterRole)
				if err := checks.Role(ctx, gv.WithResource("clusterroles").GroupResource(), "", r.Rules); err != nil {
					return err
				}
				if r.AggregationRule != nil {
					return checks.Aggregation(ctx)
				}
				return nil
			}),
		},
		&registry.Definition[*rbacv1.RoleBinding]{
			GroupVersion: gv, Resource: "rolebindings", Singular: "rolebinding", Kind: "RoleBinding", Namespaced: true,
			New:            func() *rbacv1.RoleBinding { return &rbacv1.RoleBinding{} },
			NewList:        func() runtime.Object { return &rbacv1.RoleBindingList{} },
			Validate:       rbacvalidation.ValidateRoleBinding,
			ValidateUpdate: rbacvalidation.ValidateRoleBindingUpdate,
			TableConvertor: t("rolebindings"),
			Extend: guard(func(ctx context.Context, obj runtime.Object) error {
				b := obj.(*rbacv1.RoleBinding)
				return checks.Binding(ctx, b.Namespace, b.RoleRef)
			}),
		},
		&registry.Definition[*rbacv1.ClusterRoleBinding]{
			GroupVersion: gv, Resource: "clusterrolebindings", Singular: "clusterrolebinding", Kind: "ClusterRoleBinding",
			New:            func() *rbacv1.ClusterRoleBinding { return &rbacv1.ClusterRoleBinding{} },
			NewList:        func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
			Validate:       rbacvalidation.ValidateClusterRoleBinding,
			ValidateUpdate: rbacvalidation.ValidateClusterRoleBindingUpdate,
			TableConvertor: t("clusterrolebindings"),
			Extend: guard(func(ctx context.Context, obj runtime.Object) error {
				return checks.Binding(ctx, "", obj.(*rbacv1.ClusterRoleBinding).RoleRef)
			}),
		},
	}
}

// guarded runs an escalation check before every create and update.
type guarded struct {
	*registry.REST
	check func(ctx context.Context, obj runtime.Object) error
}

func (g *guarded) forbidden(ctx context.Context, obj runtime.Object) error {
	if err := g.check(ctx, obj); err != nil {
		name := ""
		if m, merr := meta.Accessor(obj); merr == nil {
			name = m.GetName()
		}
		return apierrors.NewForbidden(g.DefaultQualifiedResource, name, err)
	}
	return nil
}

// Create implements rest.Creater.
func (g *guarded) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if err := g.forbidden(ctx, obj); err != nil {
		return nil, err
	}
	return g.REST.Create(ctx, obj, createValidation, options)
}

// Update implements rest.Updater.
func (g *guarded) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	checked := rest.WrapUpdatedObjectInfo(objInfo, func(ctx context.Context, obj, old runtime.Object) (runtime.Object, error) {
		// Like upstream: changes only the garbage collector needs (owner
		// references, finalizers) never count as escalation.
		if old != nil && onlyGCFieldsChanged(obj, old) {
			return obj, nil
		}
		if err := g.forbidden(ctx, obj); err != nil {
			return nil, err
		}
		return obj, nil
	})
	return g.REST.Update(ctx, name, checked, createValidation, updateValidation, forceAllowCreate, options)
}

func onlyGCFieldsChanged(obj, old runtime.Object) bool {
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	for _, o := range []runtime.Object{a, b} {
		m, err := meta.Accessor(o)
		if err != nil {
			return false
		}
		m.SetOwnerReferences(nil)
		m.SetFinalizers(nil)
		m.SetResourceVersion("")
		m.SetManagedFields(nil)
	}
	return apiequality.Semantic.DeepEqual(a, b)
}
