// Package authentication validates the authentication.k8s.io/v1 requests
// the API server answers: TokenReview and TokenRequest (the body of
// serviceaccounts/token). Checks that need the request context or stored
// objects, such as resolving a token's bound object, are the REST
// handlers'. SelfSubjectReview has no rules upstream, so none here.
package authentication
