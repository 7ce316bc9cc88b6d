package core

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"Namespace":      vt.Kind(ValidateNamespace),
		"ConfigMap":      vt.Kind(ValidateConfigMap),
		"Secret":         vt.Kind(ValidateSecret),
		"ServiceAccount": vt.Kind(ValidateServiceAccount),
		"Event":          vt.Kind(ValidateEvent),
	})
}
