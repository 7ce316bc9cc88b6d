package printers

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestBindingRows(t *testing.T) {
	subjects := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"},
		{Kind: rbacv1.GroupKind, Name: "devs"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: "ctrl"},
		{Kind: rbacv1.UserKind, Name: "bob"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "ns", Name: "default"},
	}
	testRows(t, schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}, []rowCase{
		{
			name:  "subjects",
			obj:   &rbacv1.RoleBinding{ObjectMeta: objMeta("rb", 2*day), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "reader"}, Subjects: subjects},
			cells: []any{"rb", "Role/reader", "2d", "alice, bob", "devs", "kube-system/ctrl, ns/default"},
		},
		{
			name:  "no subjects",
			obj:   &rbacv1.RoleBinding{ObjectMeta: objMeta("rb", 2*day), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}},
			cells: []any{"rb", "ClusterRole/view", "2d", "", "", ""},
		},
	})
	testRows(t, schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, []rowCase{
		{
			name:  "subjects",
			obj:   &rbacv1.ClusterRoleBinding{ObjectMeta: objMeta("crb", 2*day), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"}, Subjects: subjects[:2]},
			cells: []any{"crb", "ClusterRole/admin", "2d", "alice", "devs", ""},
		},
	})
}
