// Package authentication serves authentication.k8s.io/v1's create-only,
// unstored reviews: TokenReview (run a token through the server's
// authenticators) and SelfSubjectReview (who am I). ServiceAccount tokens
// are issued by the serviceaccounts/token subresource, not here.
package authentication
