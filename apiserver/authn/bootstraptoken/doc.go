// Package bootstraptoken is the API server's bootstrap token authenticator
// (kube-apiserver's --enable-bootstrap-token-auth): a bearer token
// "<id>.<secret>" authenticates as system:bootstrap:<id>, in
// system:bootstrappers and the token's auth-extra-groups, when kube-system
// holds a Secret bootstrap-token-<id> of type bootstrap.kubernetes.io/token
// with that secret, usage-bootstrap-authentication=true and no past
// expiration. Secrets are read from an informer, never from etcd per request.
//
// Creating tokens is internal/bootstraptoken's job; deleting expired ones is
// controllers/tokencleaner's.
package bootstraptoken
