package apps

import (
	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateReplicaSet validates a new ReplicaSet: a namespaced object named
// as a DNS subdomain with a valid spec.
func ValidateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&rs.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateReplicaSetSpec(&rs.Spec, specPath)...)
}

// ValidateReplicaSetUpdate validates an update of a ReplicaSet (through the
// main resource or /scale): a valid spec whose selector has not changed.
func ValidateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateReplicaSetSpec(&rs.Spec, specPath)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(rs.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

// ValidateReplicaSetStatusUpdate validates an update through
// replicasets/status: counts not negative, none above status.replicas,
// available within ready.
func ValidateReplicaSetStatusUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta)
	s := &rs.Status
	errs = append(errs, nonnegative(statusPath,
		namedValue{"replicas", int64(s.Replicas)},
		namedValue{"fullyLabeledReplicas", int64(s.FullyLabeledReplicas)},
		namedValue{"readyReplicas", int64(s.ReadyReplicas)},
		namedValue{"availableReplicas", int64(s.AvailableReplicas)},
		namedValue{"observedGeneration", s.ObservedGeneration},
	)...)
	if s.TerminatingReplicas != nil {
		errs = append(errs, nonnegative(statusPath, namedValue{"terminatingReplicas", int64(*s.TerminatingReplicas)})...)
	}
	errs = append(errs, replicasAbove(statusPath, s.Replicas,
		namedCount{"fullyLabeledReplicas", s.FullyLabeledReplicas},
		namedCount{"readyReplicas", s.ReadyReplicas},
		namedCount{"availableReplicas", s.AvailableReplicas},
	)...)
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

func validateReplicaSetSpec(spec *appsv1.ReplicaSetSpec, p *field.Path) field.ErrorList {
	errs := nonnegative(p,
		namedValue{"replicas", deref32(spec.Replicas)},
		namedValue{"minReadySeconds", int64(spec.MinReadySeconds)},
	)
	// Upstream's message names deployments for ReplicaSets too.
	selector, selErrs := validateWorkloadSelector(spec.Selector, "deployment", "invalid label selector", p.Child("selector"))
	errs = append(errs, selErrs...)
	if selector != nil {
		errs = append(errs, validateReplicaSetTemplate(&spec.Template, selector, p.Child("template"))...)
	}
	return errs
}
