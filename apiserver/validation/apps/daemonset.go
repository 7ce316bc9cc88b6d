package apps

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/core"
	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateDaemonSet validates a new DaemonSet: a namespaced object named as
// a DNS subdomain with a valid spec.
func ValidateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&ds.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	generation, genErrs := templateGeneration(ds)
	errs = append(errs, genErrs...)
	return append(errs, validateDaemonSetSpec(&ds.Spec, generation, specPath)...)
}

// ValidateDaemonSetUpdate validates an update of a DaemonSet: a valid spec
// whose selector has not changed, and a template generation (see
// SetDaemonSetTemplateGeneration) that went up by exactly the template
// changes.
func ValidateDaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	generation, genErrs := templateGeneration(ds)
	errs = append(errs, genErrs...)
	oldGeneration, _ := templateGeneration(old)

	if generation < oldGeneration {
		errs = append(errs, field.Invalid(specPath.Child("templateGeneration"), generation, "must not be decremented"))
	}
	templateChanged := !apiequality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template)
	switch {
	case generation == oldGeneration && templateChanged:
		errs = append(errs, field.Invalid(specPath.Child("templateGeneration"), generation, "must be incremented upon template update"))
	case generation > oldGeneration && !templateChanged:
		errs = append(errs, field.Invalid(specPath.Child("templateGeneration"), generation, "must not be incremented without template update"))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(ds.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
	return append(errs, validateDaemonSetSpec(&ds.Spec, generation, specPath)...)
}

// ValidateDaemonSetStatusUpdate validates an update through
// daemonsets/status: counts not negative and collisionCount never
// decremented.
func ValidateDaemonSetStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	s := &ds.Status
	errs = append(errs, nonnegative(statusPath,
		namedValue{"currentNumberScheduled", int64(s.CurrentNumberScheduled)},
		namedValue{"numberMisscheduled", int64(s.NumberMisscheduled)},
		namedValue{"desiredNumberScheduled", int64(s.DesiredNumberScheduled)},
		namedValue{"numberReady", int64(s.NumberReady)},
		namedValue{"observedGeneration", s.ObservedGeneration},
		namedValue{"updatedNumberScheduled", int64(s.UpdatedNumberScheduled)},
		namedValue{"numberAvailable", int64(s.NumberAvailable)},
		namedValue{"numberUnavailable", int64(s.NumberUnavailable)},
	)...)
	if s.CollisionCount != nil {
		errs = append(errs, nonnegative(statusPath, namedValue{"collisionCount", int64(*s.CollisionCount)})...)
	}
	return append(errs, validateCollisionCountUpdate(s.CollisionCount, old.Status.CollisionCount)...)
}

// SetDaemonSetTemplateGeneration maintains a DaemonSet's template
// generation as upstream's strategy does, in the apps/v1 annotation
// deprecated.daemonset.template.generation that stands for upstream's
// internal spec.templateGeneration: on create (old nil) at least 1; on
// update the stored value, plus one when the template changed. The registry
// calls it from PrepareForCreate and PrepareForUpdate, before validation; a
// client cannot set the generation. It reports whether the template
// changed (upstream then also bumps metadata.generation).
func SetDaemonSetTemplateGeneration(ds, old *appsv1.DaemonSet) (templateChanged bool) {
	var generation int64
	if old == nil {
		generation, _ = templateGeneration(ds)
		if generation < 1 {
			generation = 1
		}
	} else {
		generation, _ = templateGeneration(old)
		if templateChanged = !apiequality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template); templateChanged {
			generation++
		}
	}
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(generation, 10)
	return templateChanged
}

// templateGeneration reads the template generation annotation; unset
// reads as 0. A value that is not an integer fails upstream's decoding;
// Skiff reports it on the annotation.
func templateGeneration(ds *appsv1.DaemonSet) (int64, field.ErrorList) {
	value, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return 0, nil
	}
	generation, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, field.ErrorList{field.Invalid(metadataPath.Child("annotations").Key(appsv1.DeprecatedTemplateGeneration), value,
			fmt.Sprintf("must be an integer: %v", err))}
	}
	return generation, nil
}

func validateDaemonSetSpec(spec *appsv1.DaemonSetSpec, generation int64, p *field.Path) field.ErrorList {
	// Unlike the other workloads, a DaemonSet's selector is not reported
	// as required: a missing one fails to match the template instead.
	errs := core.ValidateLabelSelector(spec.Selector, p.Child("selector"))
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(p.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, core.ValidatePodTemplateSpec(&spec.Template, p.Child("template"))...)
	errs = append(errs, validateAlwaysRestartingTemplate(&spec.Template, "DaemonSet", p.Child("template"))...)
	errs = append(errs, nonnegative(p,
		namedValue{"minReadySeconds", int64(spec.MinReadySeconds)},
		namedValue{"templateGeneration", generation},
	)...)
	errs = append(errs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, p.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonnegative(p, namedValue{"revisionHistoryLimit", int64(*spec.RevisionHistoryLimit)})...)
	}
	return errs
}

func validateDaemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(s.RollingUpdate, p.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(p, *s, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
	}
}

// validateRollingUpdateDaemonSet validates maxUnavailable and maxSurge:
// counts or percentages up to 100%, exactly one of them non-zero.
func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, p *field.Path) field.ErrorList {
	unavailable, surge := derefIntOrString(ru.MaxUnavailable), derefIntOrString(ru.MaxSurge)
	errs := ValidatePositiveIntOrPercent(unavailable, p.Child("maxUnavailable"))
	errs = append(errs, ValidatePositiveIntOrPercent(surge, p.Child("maxSurge"))...)
	errs = append(errs, IsNotMoreThan100Percent(unavailable, p.Child("maxUnavailable"))...)
	errs = append(errs, IsNotMoreThan100Percent(surge, p.Child("maxSurge"))...)
	hasUnavailable, hasSurge := intOrPercentValue(unavailable) != 0, intOrPercentValue(surge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(p.Child("maxSurge"), surge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(p.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return errs
}
