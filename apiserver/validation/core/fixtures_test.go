package core

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// fixtureValidators maps each kind with fixtures in testdata/ to its
// validator; test files of other kinds add theirs in an init func.
var fixtureValidators = map[string]vt.Validator{
	"Namespace":      vt.Kind(ValidateNamespace),
	"ConfigMap":      vt.Kind(ValidateConfigMap),
	"Secret":         vt.Kind(ValidateSecret),
	"ServiceAccount": vt.Kind(ValidateServiceAccount),
	"Event":          vt.Kind(ValidateEvent),
}

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, fixtureValidators)
}
