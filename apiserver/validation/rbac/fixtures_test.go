package rbac

import (
	"testing"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"Role":               vt.Kind(ValidateRole),
		"ClusterRole":        vt.Kind(ValidateClusterRole),
		"RoleBinding":        vt.Kind(ValidateRoleBinding),
		"ClusterRoleBinding": vt.Kind(ValidateClusterRoleBinding),
	})
}
