package apps

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

var dataPath = field.NewPath("data")

// ValidateControllerRevision validates a new ControllerRevision: a
// namespaced object named as a DNS subdomain, a revision not negative, and
// data that is a JSON object.
func ValidateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := validateControllerRevisionMeta(cr)
	raw := cr.Data.Raw
	if raw == nil && cr.Data.Object != nil {
		// A typed object not yet serialized: check what it will store.
		encoded, err := json.Marshal(cr.Data.Object)
		if err != nil {
			return append(errs, field.Invalid(dataPath, "<value omitted>", fmt.Sprintf("error parsing data: %v", err.Error())))
		}
		raw = encoded
	}
	var v any
	switch err := json.Unmarshal(raw, &v); {
	case raw == nil:
		errs = append(errs, field.Required(dataPath, "data is mandatory"))
	case err != nil:
		errs = append(errs, field.Invalid(dataPath, "<value omitted>", fmt.Sprintf("error parsing data: %v", err.Error())))
	case v == nil:
		errs = append(errs, field.Required(dataPath, "data is mandatory"))
	default:
		if _, isObject := v.(map[string]any); !isObject {
			errs = append(errs, field.Required(dataPath, "data must be a valid JSON object"))
		}
	}
	return errs
}

// ValidateControllerRevisionUpdate validates an update of a
// ControllerRevision: its data may not change. As upstream, the metadata is
// also checked as for a new object and the revision is not held immutable
// (only its sign is checked).
func ValidateControllerRevisionUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&cr.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateControllerRevisionMeta(cr)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(cr.Data, old.Data, dataPath)...)
}

func validateControllerRevisionMeta(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&cr.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, apimachineryvalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))...)
}
