// Package bootstraptoken is the client side of bootstrap tokens, shared by
// `skiff token`, the bootstrap signer, the API server's bootstrap and the
// kubelet's discovery: creating, listing and deleting token Secrets, the
// RBAC bindings kubeadm creates for them, the unsigned cluster-info
// ConfigMap and its anonymous read access, and the detached JWS signatures
// (RFC 7515 appendix F, HS256 keyed by the token secret) of cluster-info.
//
// It is not the authenticator (apiserver/authn/bootstraptoken) nor the
// controller that signs cluster-info (controllers/bootstrapsigner).
package bootstraptoken
