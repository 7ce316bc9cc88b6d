package apps

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateDeployment validates a new Deployment: a namespaced object named
// as a DNS subdomain with a valid spec.
func ValidateDeployment(d *appsv1.Deployment) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&d.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateDeploymentSpec(d, specPath)...)
}

// ValidateDeploymentUpdate validates an update of a Deployment (through the
// main resource or /scale): a valid spec whose selector has not changed.
func ValidateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateDeploymentSpec(d, specPath)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(d.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

// ValidateDeploymentStatusUpdate validates an update through
// deployments/status: counts not negative, none above status.replicas,
// available within ready, and collisionCount never decremented.
func ValidateDeploymentStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	s := &d.Status
	errs = append(errs, nonnegative(statusPath,
		namedValue{"observedGeneration", s.ObservedGeneration},
		namedValue{"replicas", int64(s.Replicas)},
		namedValue{"updatedReplicas", int64(s.UpdatedReplicas)},
		namedValue{"readyReplicas", int64(s.ReadyReplicas)},
		namedValue{"availableReplicas", int64(s.AvailableReplicas)},
		namedValue{"unavailableReplicas", int64(s.UnavailableReplicas)},
	)...)
	if s.TerminatingReplicas != nil {
		errs = append(errs, nonnegative(statusPath, namedValue{"terminatingReplicas", int64(*s.TerminatingReplicas)})...)
	}
	if s.CollisionCount != nil {
		errs = append(errs, nonnegative(statusPath, namedValue{"collisionCount", int64(*s.CollisionCount)})...)
	}
	errs = append(errs, replicasAbove(statusPath, s.Replicas,
		namedCount{"updatedReplicas", s.UpdatedReplicas},
		namedCount{"readyReplicas", s.ReadyReplicas},
		namedCount{"availableReplicas", s.AvailableReplicas},
	)...)
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return append(errs, validateCollisionCountUpdate(s.CollisionCount, old.Status.CollisionCount)...)
}

func validateDeploymentSpec(d *appsv1.Deployment, p *field.Path) field.ErrorList {
	spec := &d.Spec
	errs := nonnegative(p, namedValue{"replicas", deref32(spec.Replicas)})
	selector, selErrs := validateWorkloadSelector(spec.Selector, "deployment", "invalid label selector", p.Child("selector"))
	errs = append(errs, selErrs...)
	if selector != nil {
		errs = append(errs, validateReplicaSetTemplate(&spec.Template, selector, p.Child("template"))...)
	}
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonnegative(p, namedValue{"minReadySeconds", int64(spec.MinReadySeconds)})...)
	if spec.RevisionHistoryLimit != nil {
		// Zero keeps no old ReplicaSets, which is allowed.
		errs = append(errs, nonnegative(p, namedValue{"revisionHistoryLimit", int64(*spec.RevisionHistoryLimit)})...)
	}
	errs = append(errs, validateRollbackAnnotation(d.Annotations, p)...)
	if pds := spec.ProgressDeadlineSeconds; pds != nil {
		errs = append(errs, nonnegative(p, namedValue{"progressDeadlineSeconds", int64(*pds)})...)
		if *pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), *pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateRollbackAnnotation validates the revision a Deployment asks to
// roll back to. apps/v1 has no rollback field; upstream reads the
// deprecated.deployment.rollback.to annotation into its internal
// spec.rollbackTo and validates it there, at spec.rollback.version. An
// annotation that is not an integer fails upstream's decoding; Skiff
// reports it on the annotation.
func validateRollbackAnnotation(annotations map[string]string, p *field.Path) field.ErrorList {
	value := annotations[appsv1.DeprecatedRollbackTo]
	if value == "" {
		return nil
	}
	revision, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return field.ErrorList{field.Invalid(metadataPath.Child("annotations").Key(appsv1.DeprecatedRollbackTo), value,
			fmt.Sprintf("failed to parse annotation[%s]=%s as int64: %v", appsv1.DeprecatedRollbackTo, value, err))}
	}
	return apimachineryvalidation.ValidateNonnegativeField(revision, p.Child("rollback", "version"))
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdateDeployment(s.RollingUpdate, p.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(p, *s, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
}

// validateRollingUpdateDeployment validates maxUnavailable and maxSurge:
// counts or percentages, not both zero, maxUnavailable at most 100%.
func validateRollingUpdateDeployment(ru *appsv1.RollingUpdateDeployment, p *field.Path) field.ErrorList {
	unavailable, surge := derefIntOrString(ru.MaxUnavailable), derefIntOrString(ru.MaxSurge)
	errs := ValidatePositiveIntOrPercent(unavailable, p.Child("maxUnavailable"))
	errs = append(errs, ValidatePositiveIntOrPercent(surge, p.Child("maxSurge"))...)
	if intOrPercentValue(unavailable) == 0 && intOrPercentValue(surge) == 0 {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, IsNotMoreThan100Percent(unavailable, p.Child("maxUnavailable"))...)
}
