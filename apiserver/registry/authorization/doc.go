// Package authorization serves authorization.k8s.io/v1's create-only,
// unstored reviews — SubjectAccessReview, LocalSubjectAccessReview,
// SelfSubjectAccessReview and SelfSubjectRulesReview — by asking the
// server's own authorizer and rule resolver (`kubectl auth can-i`).
package authorization
