package apps

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/core"
)

var (
	specPath     = field.NewPath("spec")
	statusPath   = field.NewPath("status")
	metadataPath = field.NewPath("metadata")
)

// validateWorkloadSelector validates the required, non-empty selector of a
// Deployment, ReplicaSet or StatefulSet (kind names it in the message) and
// returns it as a labels.Selector, or nil with an error at the selector
// (detail invalidDetail) when it does not convert.
func validateWorkloadSelector(sel *metav1.LabelSelector, kind, invalidDetail string, p *field.Path) (labels.Selector, field.ErrorList) {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(p, ""))
	} else {
		errs = append(errs, core.ValidateLabelSelector(sel, p)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(p, sel, fmt.Sprintf("empty selector is invalid for %s", kind)))
		}
	}
	// A nil selector converts to one that selects nothing: the template's
	// labels then fail to match too, as upstream reports.
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, append(errs, field.Invalid(p, sel, invalidDetail))
	}
	return selector, errs
}

// validateTemplateLabelsMatch reports template labels the selector does not
// select; an empty selector matches anything.
func validateTemplateLabelsMatch(selector labels.Selector, t *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
		return field.ErrorList{field.Invalid(p.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`")}
	}
	return nil
}

// validateAlwaysRestartingTemplate checks what every long-running workload
// requires of its template: restartPolicy Always and no active deadline
// (kind names the workload in the message).
func validateAlwaysRestartingTemplate(t *corev1.PodTemplateSpec, kind string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("spec", "activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}

// validateReplicaSetTemplate validates the template of a ReplicaSet or a
// Deployment: matching the selector, a valid pod template, restarting
// always. Upstream names ReplicaSet in the deadline message for both.
func validateReplicaSetTemplate(t *corev1.PodTemplateSpec, selector labels.Selector, p *field.Path) field.ErrorList {
	errs := validateTemplateLabelsMatch(selector, t, p)
	errs = append(errs, core.ValidatePodTemplateSpec(t, p)...)
	return append(errs, validateAlwaysRestartingTemplate(t, "ReplicaSet", p)...)
}

// nonnegative validates that each named value is not negative, at the
// child of p of that name.
func nonnegative(p *field.Path, values ...namedValue) field.ErrorList {
	var errs field.ErrorList
	for _, v := range values {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(v.value, p.Child(v.name))...)
	}
	return errs
}

type namedValue struct {
	name  string
	value int64
}

// deref32 reads an optional count; unset reads as 0, as upstream's
// conversion to its internal (non-pointer) fields does.
func deref32(v *int32) int64 {
	if v == nil {
		return 0
	}
	return int64(*v)
}

// isDecremented reports whether a counter went down or was unset.
func isDecremented(update, old *int32) bool {
	if update == nil {
		return old != nil
	}
	return old != nil && *update < *old
}

// validateCollisionCountUpdate forbids decrementing status.collisionCount.
func validateCollisionCountUpdate(update, old *int32) field.ErrorList {
	if !isDecremented(update, old) {
		return nil
	}
	return field.ErrorList{field.Invalid(statusPath.Child("collisionCount"), deref32(update), "cannot be decremented")}
}

// replicasAbove reports the status counts that exceed status.replicas.
func replicasAbove(p *field.Path, replicas int32, counts ...namedCount) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		if c.value > replicas {
			errs = append(errs, field.Invalid(p.Child(c.name), c.value, "cannot be greater than status.replicas"))
		}
	}
	return errs
}

type namedCount struct {
	name  string
	value int32
}
