// Package certificatesubjectrestriction provides the
// CertificateSubjectRestriction admission plugin: a CertificateSigningRequest
// for the kubernetes.io/kube-apiserver-client signer whose request puts
// system:masters in the subject's organisations (the groups of the
// certificate's user) is rejected at creation, whoever creates it, as
// upstream's plugin of that name does.
package certificatesubjectrestriction
