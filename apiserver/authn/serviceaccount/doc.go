// Package serviceaccount issues and authenticates ServiceAccount tokens as
// kube-apiserver does: it loads the signing and verification keys named by
// --service-account-signing-key-file and --service-account-key-file, signs
// bound (TokenRequest) JWTs, and authenticates both bound and legacy
// Secret-based tokens against the objects they are bound to. It does not
// serve the serviceaccounts/token subresource (apiserver/registry/serviceaccounttoken
// does) nor publish OIDC discovery documents.
package serviceaccount
