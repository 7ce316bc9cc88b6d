package apps

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"Deployment":         vt.Kind(ValidateDeployment),
		"ReplicaSet":         vt.Kind(ValidateReplicaSet),
		"StatefulSet":        vt.Kind(ValidateStatefulSet),
		"DaemonSet":          vt.Kind(ValidateDaemonSet),
		"ControllerRevision": vt.Kind(ValidateControllerRevision),
	})
}
