package printers

import (
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bindingColumns are the columns of RoleBindings and ClusterRoleBindings;
// kind is "roleBinding" or "clusterRoleBinding".
func bindingColumns(kind string, roleRefDoc string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Role", Type: "string", Description: roleRefDoc},
		ageColumn,
		{Name: "Users", Type: "string", Priority: 1, Description: "Users in the " + kind},
		{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the " + kind},
		{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the " + kind},
	}
}

var roleBindings = newPrinter(bindingColumns("roleBinding", rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"]),
	rowsOf(func(b *rbacv1.RoleBinding, now time.Time) (metav1.TableRow, error) {
		return bindingRow(b.ObjectMeta, b.RoleRef, b.Subjects, now)
	}))

var clusterRoleBindings = newPrinter(bindingColumns("clusterRoleBinding", rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
	rowsOf(func(b *rbacv1.ClusterRoleBinding, now time.Time) (metav1.TableRow, error) {
		return bindingRow(b.ObjectMeta, b.RoleRef, b.Subjects, now)
	}))

func bindingRow(m metav1.ObjectMeta, ref rbacv1.RoleRef, subjects []rbacv1.Subject, now time.Time) (metav1.TableRow, error) {
	var users, groups, serviceAccounts []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			serviceAccounts = append(serviceAccounts, s.Namespace+"/"+s.Name)
		}
	}
	return cells(m.Name, fmt.Sprintf("%s/%s", ref.Kind, ref.Name), since(m.CreationTimestamp, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(serviceAccounts, ", "))
}
