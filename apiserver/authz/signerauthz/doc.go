// Package signerauthz answers whether a user may act ("approve", "sign")
// for a certificate signer: the RBAC check on the synthetic
// certificates.k8s.io "signers" resource that the CertificateApproval and
// CertificateSigning admission plugins make, as upstream's
// pkg/certauthorization does. It is not an admission plugin itself.
package signerauthz
