package networking

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"Ingress":       vt.Kind(ValidateIngress),
		"IngressClass":  vt.Kind(ValidateIngressClass),
		"NetworkPolicy": vt.Kind(ValidateNetworkPolicy),
		"ServiceCIDR":   vt.Kind(ValidateServiceCIDR),
		"IPAddress":     vt.Kind(ValidateIPAddress),
	})
}
