package resource

import (
	resourcev1 "k8s.io/api/resource/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

var (
	deviceTaintRuleSpecPath   = field.NewPath("spec")
	deviceTaintRuleStatusPath = field.NewPath("status")
)

// ValidateDeviceTaintRule validates a new DeviceTaintRule as upstream
// does: a cluster-scoped object named as a DNS subdomain, a selector whose
// driver, pool and device names are valid where set, and a taint with a
// label-name key, a label-value value and a None, NoSchedule or NoExecute
// effect.
func ValidateDeviceTaintRule(r *resourcev1.DeviceTaintRule) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&r.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateDeviceTaintRuleSpec(&r.Spec, nil)...)
}

// ValidateDeviceTaintRuleUpdate validates an update through the main
// resource: the create rules, except that an unchanged effect is not
// checked again.
func ValidateDeviceTaintRuleUpdate(r, old *resourcev1.DeviceTaintRule) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateDeviceTaintRuleSpec(&r.Spec, &old.Spec)...)
}

// ValidateDeviceTaintRuleStatusUpdate validates a write through
// devicetaintrules/status: well-formed conditions, at most
// DeviceTaintRuleStatusMaxConditions of them.
func ValidateDeviceTaintRuleStatusUpdate(r, old *resourcev1.DeviceTaintRule) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	conditionsPath := deviceTaintRuleStatusPath.Child("conditions")
	errs = append(errs, metav1validation.ValidateConditions(r.Status.Conditions, conditionsPath)...)
	if n := len(r.Status.Conditions); n > resourcev1.DeviceTaintRuleStatusMaxConditions {
		errs = append(errs, field.TooMany(conditionsPath, n, resourcev1.DeviceTaintRuleStatusMaxConditions))
	}
	return errs
}

func validateDeviceTaintRuleSpec(spec, old *resourcev1.DeviceTaintRuleSpec) field.ErrorList {
	var errs field.ErrorList
	if sel := spec.DeviceSelector; sel != nil {
		selPath := deviceTaintRuleSpecPath.Child("deviceSelector")
		if sel.Driver != nil {
			errs = append(errs, validateDriverName(*sel.Driver, selPath.Child("driver"))...)
		}
		if sel.Pool != nil {
			errs = append(errs, validatePoolName(*sel.Pool, selPath.Child("pool"))...)
		}
		if sel.Device != nil {
			errs = append(errs, validateDNSLabel(*sel.Device, selPath.Child("device"))...)
		}
	}
	var oldTaint *resourcev1.DeviceTaint
	if old != nil {
		oldTaint = &old.Taint
	}
	return append(errs, validateDeviceTaint(spec.Taint, oldTaint, deviceTaintRuleSpecPath.Child("taint"))...)
}
