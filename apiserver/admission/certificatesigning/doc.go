// Package certificatesigning provides the CertificateSigning admission
// plugin: an update of certificatesigningrequests/status that changes
// status.certificate or status.conditions is allowed only to a user with
// the "sign" verb on the CSR's signer (resource "signers" of
// certificates.k8s.io, named by the signerName or "<domain>/*"), as
// upstream's plugin of that name does.
package certificatesigning
