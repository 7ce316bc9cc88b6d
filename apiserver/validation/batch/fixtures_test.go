package batch

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// prepareAndValidateJob does what the registry does on create after
// defaulting (the fixtures carry their UID): it generates the selector,
// then validates.
func prepareAndValidateJob(job *batchv1.Job) field.ErrorList {
	GenerateJobSelector(job)
	return ValidateJob(job)
}

func TestFixtures(t *testing.T) {
	vt.RunFixtures(t, map[string]vt.Validator{
		"Job":     vt.Kind(prepareAndValidateJob),
		"CronJob": vt.Kind(ValidateCronJob),
	})
}
