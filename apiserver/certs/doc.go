// Package certs creates, on first start, the key material a self-contained
// Skiff API server needs in its data directory: a cluster CA, the serving
// certificate, client certificates (the admin's), the service-account
// signing key, and the admin kubeconfig. Existing files are reused, never
// overwritten, so a restart keeps every credential valid. It is not a
// general PKI: certificates for nodes come through the CSR API.
package certs
