package resource

import (
	"encoding/json"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

var (
	jsonUnmarshal     = json.Unmarshal
	validateLabels    = metav1validation.ValidateLabels
	validateLabelName = metav1validation.ValidateLabelName
)

func validateDNSLabel(s string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(s) {
		errs = append(errs, field.Invalid(fldPath, s, msg))
	}
	return errs
}

func validateDNSSubdomain(s string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(s) {
		errs = append(errs, field.Invalid(fldPath, s, msg))
	}
	return errs
}

// validateDriverName applies the CSI driver name rules, which DRA reuses:
// required, at most 63 characters, a DNS subdomain once lower-cased.
func validateDriverName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if len(name) > resourcev1.DriverNameMaxLength {
		errs = append(errs, field.TooLong(fldPath, "", resourcev1.DriverNameMaxLength))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// validatePoolName requires a pool name of at most 253 characters whose
// "/"-separated parts are DNS subdomains.
func validatePoolName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if len(name) > resourcev1.PoolNameMaxLength {
		errs = append(errs, field.TooLong(fldPath, "", resourcev1.PoolNameMaxLength))
	}
	for _, part := range strings.Split(name, "/") {
		errs = append(errs, validateDNSSubdomain(part, fldPath)...)
	}
	return errs
}

// ValidateDeviceClass validates a new DeviceClass: a cluster-scoped object
// named as a DNS subdomain, with valid CEL selectors and opaque
// configuration.
func ValidateDeviceClass(c *resourcev1.DeviceClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&c.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateDeviceClassSpec(&c.Spec, field.NewPath("spec"))...)
}

// ValidateDeviceClassUpdate validates an update of a DeviceClass; its spec
// meets the create rules.
func ValidateDeviceClassUpdate(c, old *resourcev1.DeviceClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateDeviceClassSpec(&c.Spec, field.NewPath("spec"))...)
}

func validateDeviceClassSpec(spec *resourcev1.DeviceClassSpec, fldPath *field.Path) field.ErrorList {
	errs := validateSelectors(spec.Selectors, fldPath.Child("selectors"))
	return append(errs, validateList(len(spec.Config), resourcev1.DeviceConfigMaxSize, fldPath.Child("config"), func(i int, p *field.Path) field.ErrorList {
		return validateDeviceConfiguration(spec.Config[i].DeviceConfiguration, p)
	}, nil)...)
}

// ValidateResourceSlice validates a new ResourceSlice: its driver, pool,
// exactly one node selection, and distinct DNS-label device names.
func ValidateResourceSlice(s *resourcev1.ResourceSlice) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&s.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateResourceSliceSpec(&s.Spec, field.NewPath("spec"))...)
}

// ValidateResourceSliceUpdate validates an update of a ResourceSlice: the
// create rules hold, and the driver, pool name and node name are
// immutable.
func ValidateResourceSliceUpdate(s, old *resourcev1.ResourceSlice) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := metavalidation.ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateResourceSliceSpec(&s.Spec, specPath)...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Spec.Pool.Name, old.Spec.Pool.Name, specPath.Child("pool", "name"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Spec.Driver, old.Spec.Driver, specPath.Child("driver"))...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(s.Spec.NodeName, old.Spec.NodeName, specPath.Child("nodeName"))...)
}
