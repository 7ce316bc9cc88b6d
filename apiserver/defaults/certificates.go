package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addCertificatesDefaults registers upstream's defaults for
// certificates.k8s.io/v1. Upstream defines none for v1 (v1beta1 defaulted
// usages and the signer name; v1 requires both), so a
// CertificateSigningRequest is stored as written; the requester's identity is
// filled in by the registry strategy, not by defaulting.
func addCertificatesDefaults(s *runtime.Scheme) {}
