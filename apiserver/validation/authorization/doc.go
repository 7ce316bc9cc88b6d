// Package authorization validates the authorization.k8s.io/v1 review
// requests (SubjectAccessReview, SelfSubjectAccessReview,
// LocalSubjectAccessReview, SelfSubjectRulesReview) with upstream
// kube-apiserver's field paths, error types and messages. Checks against
// the request's namespace or user are the REST handlers'.
package authorization
