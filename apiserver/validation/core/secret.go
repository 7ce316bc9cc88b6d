package core

import (
	"encoding/json"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateSecret validates a new Secret: a namespaced object named as a DNS
// subdomain, whose data keys are valid config keys, whose values hold at
// most corev1.MaxSecretSize bytes in all, and which carries the keys its
// type requires. It reads data only: the defaulter has already merged
// stringData into it, as upstream's decoding does.
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&s.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	dataPath := field.NewPath("data")
	size := 0
	for key, value := range s.Data {
		errs = append(errs, validateConfigKey(key, dataPath)...)
		size += len(value)
	}
	if size > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", corev1.MaxSecretSize))
	}
	return append(errs, validateSecretType(s, dataPath)...)
}

// validateSecretType checks that s has the keys its type requires.
func validateSecretType(s *corev1.Secret, dataPath *field.Path) field.ErrorList {
	has := func(key string) bool { _, ok := s.Data[key]; return ok }
	required := func(key string) *field.Error { return field.Required(dataPath.Key(key), "") }
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		// The token and the account's UID come later, from a controller.
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			return field.ErrorList{field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), "")}
		}
	case corev1.SecretTypeDockercfg:
		return validateJSONKey(s, corev1.DockerConfigKey, dataPath)
	case corev1.SecretTypeDockerConfigJson:
		return validateJSONKey(s, corev1.DockerConfigJsonKey, dataPath)
	case corev1.SecretTypeBasicAuth:
		// Either may be empty, but one must be present.
		if !has(corev1.BasicAuthUsernameKey) && !has(corev1.BasicAuthPasswordKey) {
			return field.ErrorList{required(corev1.BasicAuthUsernameKey), required(corev1.BasicAuthPasswordKey)}
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			return field.ErrorList{required(corev1.SSHAuthPrivateKey)}
		}
	case corev1.SecretTypeTLS:
		var errs field.ErrorList
		for _, key := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
			if !has(key) {
				errs = append(errs, required(key))
			}
		}
		return errs
	}
	// Opaque, empty and any other type: no required keys.
	return nil
}

// validateJSONKey checks that s.Data[key] is present and holds a JSON
// object.
func validateJSONKey(s *corev1.Secret, key string, dataPath *field.Path) field.ErrorList {
	value, ok := s.Data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(value, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

// ValidateSecretUpdate validates an update of a Secret: its type never
// changes and, once immutable, it stays so and its data does not change.
func ValidateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Type, old.Type, field.NewPath("type"))...)
	if isTrue(old.Immutable) {
		if !isTrue(s.Immutable) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableMsg))
		}
		if !reflect.DeepEqual(s.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableMsg))
		}
	}
	return append(errs, ValidateSecret(s)...)
}
