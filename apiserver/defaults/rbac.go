package defaults

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addRBACDefaults registers upstream's rbac.authorization.k8s.io/v1
// defaults: the API group of a binding's roleRef and subjects. Roles and
// ClusterRoles have none.
func addRBACDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&rbacv1.RoleBinding{}, func(o interface{}) {
		b := o.(*rbacv1.RoleBinding)
		defaultBinding(&b.RoleRef, b.Subjects)
	})
	s.AddTypeDefaultingFunc(&rbacv1.RoleBindingList{}, func(o interface{}) {
		l := o.(*rbacv1.RoleBindingList)
		for i := range l.Items {
			defaultBinding(&l.Items[i].RoleRef, l.Items[i].Subjects)
		}
	})
	s.AddTypeDefaultingFunc(&rbacv1.ClusterRoleBinding{}, func(o interface{}) {
		b := o.(*rbacv1.ClusterRoleBinding)
		defaultBinding(&b.RoleRef, b.Subjects)
	})
	s.AddTypeDefaultingFunc(&rbacv1.ClusterRoleBindingList{}, func(o interface{}) {
		l := o.(*rbacv1.ClusterRoleBindingList)
		for i := range l.Items {
			defaultBinding(&l.Items[i].RoleRef, l.Items[i].Subjects)
		}
	})
}

// defaultBinding sets an unset roleRef API group to the RBAC group, and an
// unset subject API group to the group of its kind: the RBAC group for
// users and groups, the core group ("") for service accounts.
func defaultBinding(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		if s := &subjects[i]; s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
			s.APIGroup = rbacv1.GroupName
		}
	}
}
