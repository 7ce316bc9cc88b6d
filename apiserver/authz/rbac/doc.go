// Package rbac is Skiff's RBAC authorizer: it evaluates Roles, ClusterRoles and
// their bindings read from listers exactly as kube-apiserver's RBAC mode does,
// resolves a user's rules for SelfSubjectRulesReview, and provides the
// escalation and bind checks the RBAC REST storage runs on writes. It never
// denies (other authorizers may still allow) and does not aggregate
// ClusterRoles: aggregated roles are read by their stored rules.
package rbac
