// Package signerauthz answers whether a user may act ("approve", "sign")
// for a certificate signer: the RBAC check on the synthetic
// certificates.k8s.io "signers" resource that the CertificateApproval,
// CertificateSigning and ClusterTrustBundleAttest admission plugins and the
// PodCertificateRequest status strategy make, as upstream's
// pkg/certauthorization does. Plugin is the part the signer-checking
// admission plugins (CertificateApproval, CertificateSigning,
// ClusterTrustBundleAttest) share; it is not a plugin on its own.
package signerauthz
