package certificates

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"CertificateSigningRequest": vt.Kind(ValidateCertificateSigningRequest),
		"ClusterTrustBundle":        vt.Kind(ValidateClusterTrustBundle),
		"PodCertificateRequest":     vt.Kind(ValidatePodCertificateRequest),
	})
}
