package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

var limitTypes = sets.New(corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim)

// ValidateLimitRange validates a LimitRange: a namespaced object named as a
// DNS subdomain whose limits have one item per type, resource names fit for
// the type (Pod items take no defaults, PersistentVolumeClaim items bound
// storage), and min <= defaultRequest <= default <= max for each resource,
// with a maxLimitRequestRatio of at least 1 and at most max/min.
func ValidateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&lr.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	limitsPath := field.NewPath("spec", "limits")
	seenTypes := sets.New[corev1.LimitType]()
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		p := limitsPath.Index(i)
		errs = append(errs, validateLimitType(item.Type, p.Child("type"))...)
		if seenTypes.Has(item.Type) {
			errs = append(errs, field.Duplicate(p.Child("type"), item.Type))
		}
		seenTypes.Insert(item.Type)
		errs = append(errs, validateLimitRangeItem(item, p)...)
	}
	return errs
}

// ValidateLimitRangeUpdate validates an update of a LimitRange, with the
// rules of ValidateLimitRange.
func ValidateLimitRangeUpdate(lr, old *corev1.LimitRange) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&lr.ObjectMeta, &old.ObjectMeta)
	return append(errs, ValidateLimitRange(lr)...)
}

// validateLimitType validates a limit type: a qualified name, and one of
// the standard types when it has no domain.
func validateLimitType(t corev1.LimitType, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(t)) {
		errs = append(errs, field.Invalid(fldPath, t, msg))
	}
	if len(errs) == 0 && !strings.Contains(string(t), "/") && !limitTypes.Has(t) {
		errs = append(errs, field.Invalid(fldPath, t, "must be a standard limit type or fully qualified"))
	}
	return errs
}

// validateLimitRangeResourceName validates a resource of an item: a
// container resource for Pod and Container items, any resource (storage
// too) for others.
func validateLimitRangeResourceName(t corev1.LimitType, name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if t == corev1.LimitTypePod || t == corev1.LimitTypeContainer {
		return ValidateContainerResourceName(name, fldPath)
	}
	return ValidateResourceName(name, fldPath)
}

func validateLimitRangeItem(item *corev1.LimitRangeItem, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := sets.New[corev1.ResourceName]()
	collect := func(list corev1.ResourceList, child string) {
		for name := range list {
			errs = append(errs, validateLimitRangeResourceName(item.Type, name, fldPath.Child(child).Key(string(name)))...)
			keys.Insert(name)
		}
	}
	collect(item.Max, "max")
	collect(item.Min, "min")
	if item.Type == corev1.LimitTypePod {
		if len(item.Default) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("default"), "may not be specified when `type` is 'Pod'"))
		}
		if len(item.DefaultRequest) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
		}
	} else {
		collect(item.Default, "default")
		collect(item.DefaultRequest, "defaultRequest")
	}
	if item.Type == corev1.LimitTypePersistentVolumeClaim {
		_, hasMin := item.Min[corev1.ResourceStorage]
		_, hasMax := item.Max[corev1.ResourceStorage]
		if !hasMin && !hasMax {
			// Upstream's path repeats "limits".
			errs = append(errs, field.Required(fldPath.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
		}
	}
	collect(item.MaxLimitRequestRatio, "maxLimitRequestRatio")

	// Pod items keep their defaults out of the comparisons.
	defaults, defaultRequests := item.Default, item.DefaultRequest
	if item.Type == corev1.LimitTypePod {
		defaults, defaultRequests = nil, nil
	}
	for name := range keys {
		errs = append(errs, validateLimitRangeBounds(name, item, defaults, defaultRequests, fldPath)...)
	}
	return errs
}

// validateLimitRangeBounds compares the quantities an item gives resource
// name.
func validateLimitRangeBounds(name corev1.ResourceName, item *corev1.LimitRangeItem, defaults, defaultRequests corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := string(name)
	minQ, hasMin := item.Min[name]
	maxQ, hasMax := item.Max[name]
	def, hasDef := defaults[name]
	defReq, hasDefReq := defaultRequests[name]
	ratio, hasRatio := item.MaxLimitRequestRatio[name]

	if hasMin && hasMax && minQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("min").Key(key), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
	}
	if hasDefReq && hasMin && minQ.Cmp(defReq) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("defaultRequest").Key(key), defReq, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), defReq.String())))
	}
	if hasDefReq && hasMax && defReq.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("defaultRequest").Key(key), defReq, fmt.Sprintf("default request value %s is greater than max value %s", defReq.String(), maxQ.String())))
	}
	if hasDefReq && hasDef && defReq.Cmp(def) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("defaultRequest").Key(key), defReq, fmt.Sprintf("default request value %s is greater than default limit value %s", defReq.String(), def.String())))
	}
	if hasDef && hasMin && minQ.Cmp(def) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("default").Key(key), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), def.String())))
	}
	if hasDef && hasMax && def.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("default").Key(key), maxQ, fmt.Sprintf("default value %s is greater than max value %s", def.String(), maxQ.String())))
	}
	if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
	}
	if hasRatio && hasMin && hasMax {
		// Compare in milli-units when they fit, for fractional quantities.
		ratioValue, minValue, maxValue := float64(ratio.Value()), minQ.Value(), maxQ.Value()
		if ratio.Value() < resource.MaxMilliValue && minValue < resource.MaxMilliValue && maxValue < resource.MaxMilliValue {
			ratioValue = float64(ratio.MilliValue()) / 1000
			minValue, maxValue = minQ.MilliValue(), maxQ.MilliValue()
		}
		limit := float64(maxValue) / float64(minValue)
		if ratioValue > limit {
			errs = append(errs, field.Invalid(fldPath.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit)))
		}
	}
	// Resources that may not be overcommitted (hugepages, extended
	// resources) need equal default and default request.
	if !IsOvercommitAllowed(name) && hasDef && hasDefReq && def.Cmp(defReq) != 0 {
		errs = append(errs, field.Invalid(fldPath.Child("defaultRequest").Key(key), defReq,
			fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", def.String(), defReq.String(), key)))
	}
	return errs
}
