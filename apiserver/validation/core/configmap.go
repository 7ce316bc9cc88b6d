package core

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// immutableMsg is the detail of a change to an object marked immutable.
const immutableMsg = "field is immutable when `immutable` is set"

// ValidateConfigMap validates a new ConfigMap: a namespaced object named as
// a DNS subdomain, whose keys are valid config keys, unique across data and
// binaryData, and whose values hold at most corev1.MaxSecretSize bytes in
// all.
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&cm.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	size := 0
	dataPath := field.NewPath("data")
	for key, value := range cm.Data {
		errs = append(errs, validateConfigKey(key, dataPath)...)
		if _, dup := cm.BinaryData[key]; dup {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, "duplicate of key present in binaryData"))
		}
		size += len(value)
	}
	for key, value := range cm.BinaryData {
		errs = append(errs, validateConfigKey(key, field.NewPath("binaryData"))...)
		size += len(value)
	}
	if size > corev1.MaxSecretSize {
		// The empty path: the error is about the whole object.
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

// ValidateConfigMapUpdate validates an update of a ConfigMap: once
// immutable, it stays so and its data and binaryData do not change.
func ValidateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&cm.ObjectMeta, &old.ObjectMeta)
	if isTrue(old.Immutable) {
		if !isTrue(cm.Immutable) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableMsg))
		}
		if !reflect.DeepEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableMsg))
		}
		if !reflect.DeepEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableMsg))
		}
	}
	return append(errs, ValidateConfigMap(cm)...)
}

// validateConfigKey validates a key of a ConfigMap or Secret map at
// mapPath.
func validateConfigKey(key string, mapPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(mapPath.Key(key), key, msg))
	}
	return errs
}

func isTrue(b *bool) bool { return b != nil && *b }
