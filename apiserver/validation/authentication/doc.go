// Package authentication validates the authentication.k8s.io/v1
// TokenRequest (the body of serviceaccounts/token). Checks that need the
// request context or stored objects, such as resolving a token's bound
// object, are the REST handlers'. TokenReview's one rule (a token is
// required) is a 400 in its handler, as upstream; SelfSubjectReview has no
// rules upstream, so none here.
package authentication
