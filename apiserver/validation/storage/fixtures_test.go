package storage

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"StorageClass":          vt.Kind(ValidateStorageClass),
		"CSIDriver":             vt.Kind(ValidateCSIDriver),
		"CSINode":               vt.Kind(ValidateCSINode),
		"CSIStorageCapacity":    vt.Kind(ValidateCSIStorageCapacity),
		"VolumeAttachment":      vt.Kind(ValidateVolumeAttachment),
		"VolumeAttributesClass": vt.Kind(ValidateVolumeAttributesClass),
	})
}
