package resource

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"DeviceClass":           vt.Kind(ValidateDeviceClass),
		"ResourceClaim":         vt.Kind(ValidateResourceClaim),
		"ResourceClaimTemplate": vt.Kind(ValidateResourceClaimTemplate),
		"ResourceSlice":         vt.Kind(ValidateResourceSlice),
		"DeviceTaintRule":       vt.Kind(ValidateDeviceTaintRule),
	})
}
