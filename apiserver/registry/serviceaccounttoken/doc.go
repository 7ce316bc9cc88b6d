// Package serviceaccounttoken serves the serviceaccounts/token subresource:
// creating a TokenRequest returns a signed, optionally object-bound token for
// the service account, as kube-apiserver's TokenRequest API does. It stores
// nothing; signing and authenticating tokens live in apiserver/authn/serviceaccount.
package serviceaccounttoken
