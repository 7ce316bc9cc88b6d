package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestRBACDefaults(t *testing.T) {
	subjects := func() []rbacv1.Subject {
		return []rbacv1.Subject{
			{Kind: rbacv1.UserKind, Name: "alice"},
			{Kind: rbacv1.GroupKind, Name: "admins"},
			{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: "kube-system"},
			{Kind: rbacv1.UserKind, Name: "bob", APIGroup: "example.com"},
			{Kind: "Robot", Name: "r2"},
		}
	}
	defaulted := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice", APIGroup: rbacv1.GroupName},
		{Kind: rbacv1.GroupKind, Name: "admins", APIGroup: rbacv1.GroupName},
		{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: "kube-system"},
		{Kind: rbacv1.UserKind, Name: "bob", APIGroup: "example.com"},
		{Kind: "Robot", Name: "r2"},
	}
	roleRef := rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}
	defaultedRoleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}
	otherGroupRef := rbacv1.RoleRef{APIGroup: "example.com", Kind: "ClusterRole", Name: "view"}

	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "role binding roleRef and subjects",
			obj:  &rbacv1.RoleBinding{RoleRef: roleRef, Subjects: subjects()},
			want: &rbacv1.RoleBinding{RoleRef: defaultedRoleRef, Subjects: defaulted},
		},
		{
			name: "role binding roleRef group is kept",
			obj:  &rbacv1.RoleBinding{RoleRef: otherGroupRef},
			want: &rbacv1.RoleBinding{RoleRef: otherGroupRef},
		},
		{
			name: "role binding list items",
			obj:  &rbacv1.RoleBindingList{Items: []rbacv1.RoleBinding{{RoleRef: roleRef, Subjects: subjects()}}},
			want: &rbacv1.RoleBindingList{Items: []rbacv1.RoleBinding{{RoleRef: defaultedRoleRef, Subjects: defaulted}}},
		},
		{
			name: "cluster role binding roleRef and subjects",
			obj:  &rbacv1.ClusterRoleBinding{RoleRef: roleRef, Subjects: subjects()},
			want: &rbacv1.ClusterRoleBinding{RoleRef: defaultedRoleRef, Subjects: defaulted},
		},
		{
			name: "cluster role binding list items",
			obj:  &rbacv1.ClusterRoleBindingList{Items: []rbacv1.ClusterRoleBinding{{RoleRef: roleRef, Subjects: subjects()}}},
			want: &rbacv1.ClusterRoleBindingList{Items: []rbacv1.ClusterRoleBinding{{RoleRef: defaultedRoleRef, Subjects: defaulted}}},
		},
		{
			name: "roles have no defaults",
			obj:  &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}}}},
			want: &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}}}},
		},
		{
			name: "cluster roles have no defaults",
			obj:  &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
			want: &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
		},
	}
	s := schemeWithDefaults(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Default(tt.obj)
			if diff := cmp.Diff(tt.want, tt.obj); diff != "" {
				t.Errorf("defaulted object differs (-want +got):\n%s", diff)
			}
		})
	}
}
