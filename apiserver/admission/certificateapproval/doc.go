// Package certificateapproval provides the CertificateApproval admission
// plugin: an update of certificatesigningrequests/approval is allowed only
// to a user with the "approve" verb on the CSR's signer (resource
// "signers" of certificates.k8s.io, named by the signerName or
// "<domain>/*"), as upstream's plugin of that name does.
package certificateapproval
