package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addCertificatesDefaults registers upstream's defaults for certificates.k8s.io/v1.
func addCertificatesDefaults(s *runtime.Scheme) {}
