package authentication

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Bounds of a requested token's lifetime, in seconds.
const (
	minTokenSeconds = 10 * 60
	maxTokenSeconds = 1 << 32
)

// ValidateTokenRequest validates a TokenRequest: a lifetime of at least 10
// minutes and at most 2^32 seconds. An unset lifetime is valid: defaulting
// sets it to an hour.
func ValidateTokenRequest(r *authenticationv1.TokenRequest) field.ErrorList {
	if r.Spec.ExpirationSeconds == nil {
		return nil
	}
	path := field.NewPath("spec", "expirationSeconds")
	var errs field.ErrorList
	seconds := *r.Spec.ExpirationSeconds
	if seconds < minTokenSeconds {
		errs = append(errs, field.Invalid(path, seconds, "may not specify a duration less than 10 minutes"))
	}
	if seconds > maxTokenSeconds {
		errs = append(errs, field.Invalid(path, seconds, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}
