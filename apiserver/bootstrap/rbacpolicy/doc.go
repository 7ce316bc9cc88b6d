// Package rbacpolicy holds the RBAC objects kube-apiserver bootstraps (the
// default ClusterRoles and ClusterRoleBindings, the system:controller:* roles,
// and the Roles and RoleBindings of kube-system and kube-public) and Ensure,
// which creates and reconciles them as the rbac/bootstrap-roles post-start
// hook does. It does not evaluate RBAC (apiserver/authz/rbac does) and does
// not run the ClusterRole aggregation controller: it fills admin, edit and
// view with their aggregated rules itself.
package rbacpolicy
