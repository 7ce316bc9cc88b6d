// Package rbac validates the rbac.authorization.k8s.io/v1 kinds (Role,
// ClusterRole, RoleBinding, ClusterRoleBinding) with upstream
// kube-apiserver's field paths, error types and messages. Escalation checks
// need the requesting user and belong in the registry, not here.
package rbac
