// Package certificates validates certificates.k8s.io/v1
// CertificateSigningRequests, and the writes to their status and approval
// subresources, with upstream kube-apiserver's field paths, error types and
// messages: the PEM-encoded PKCS#10 request and its signature, usages, the
// signer name, conditions, and the issued certificate; and
// ClusterTrustBundles: signer-prefixed names and PEM trust anchors. It also
// holds the kubelet client and serving request checks that upstream's CSR
// approver and signer apply; those are not part of API validation and no
// Validate function here runs them.
package certificates
