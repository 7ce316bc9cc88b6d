package apps

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/core"
	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// statefulSetOptions are the allowances an update inherits from the stored
// StatefulSet.
type statefulSetOptions struct {
	// allowInvalidServiceName keeps a serviceName (immutable) that is not a
	// DNS label.
	allowInvalidServiceName bool
	// skipTemplate skips the pod template checks, when the stored
	// StatefulSet already fails them.
	skipTemplate bool
	// skipClaimTemplates skips the volume claim templates (immutable).
	skipClaimTemplates bool
}

// ValidateStatefulSet validates a new StatefulSet: a namespaced object named
// as a DNS label (its pods are named after it) with a valid spec.
func ValidateStatefulSet(sts *appsv1.StatefulSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&sts.ObjectMeta, true, apimachineryvalidation.NameIsDNSLabel)
	return append(errs, validateStatefulSetSpec(&sts.Spec, specPath, statefulSetOptions{})...)
}

// ValidateStatefulSetUpdate validates an update of a StatefulSet (through
// the main resource or /scale). The name is not revalidated, so that sets
// created under the older subdomain rule can still be updated and deleted;
// the serviceName and claim templates, immutable, are not either, nor the
// template when the stored one is already invalid. Only replicas, ordinals,
// template, updateStrategy, revisionHistoryLimit,
// persistentVolumeClaimRetentionPolicy and minReadySeconds may change.
func ValidateStatefulSetUpdate(sts, old *appsv1.StatefulSet) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&sts.ObjectMeta, &old.ObjectMeta)
	opts := statefulSetOptions{allowInvalidServiceName: true, skipClaimTemplates: true}
	if len(validateStatefulSetSpec(&old.Spec, nil, opts)) > 0 {
		opts.skipTemplate = true
	}
	errs = append(errs, validateStatefulSetSpec(&sts.Spec, specPath, opts)...)

	changed, stored := sts.Spec.DeepCopy(), old.Spec.DeepCopy()
	changed.Replicas = stored.Replicas
	changed.Template = stored.Template
	changed.UpdateStrategy = stored.UpdateStrategy
	changed.MinReadySeconds = stored.MinReadySeconds
	changed.Ordinals = stored.Ordinals
	changed.RevisionHistoryLimit = stored.RevisionHistoryLimit
	changed.PersistentVolumeClaimRetentionPolicy = stored.PersistentVolumeClaimRetentionPolicy
	// Upstream compares internal claim templates, which carry no type
	// meta: a client sending them with or without apiVersion/kind changes
	// nothing.
	for _, spec := range []*appsv1.StatefulSetSpec{changed, stored} {
		for i := range spec.VolumeClaimTemplates {
			spec.VolumeClaimTemplates[i].TypeMeta = metav1.TypeMeta{}
		}
	}
	if !apiequality.Semantic.DeepEqual(changed, stored) {
		errs = append(errs, field.Forbidden(specPath, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

// ValidateStatefulSetStatusUpdate validates an update through
// statefulsets/status: counts not negative, none above status.replicas,
// available within ready, and collisionCount never decremented.
func ValidateStatefulSetStatusUpdate(sts, old *appsv1.StatefulSet) field.ErrorList {
	s := &sts.Status
	errs := nonnegative(statusPath,
		namedValue{"replicas", int64(s.Replicas)},
		namedValue{"readyReplicas", int64(s.ReadyReplicas)},
		namedValue{"currentReplicas", int64(s.CurrentReplicas)},
		namedValue{"updatedReplicas", int64(s.UpdatedReplicas)},
		namedValue{"availableReplicas", int64(s.AvailableReplicas)},
	)
	// The generation the controller observed is a plain int64 in apps/v1;
	// upstream's internal pointer is set whenever it is, so it is checked
	// always.
	errs = append(errs, nonnegative(statusPath, namedValue{"observedGeneration", s.ObservedGeneration})...)
	if s.CollisionCount != nil {
		errs = append(errs, nonnegative(statusPath, namedValue{"collisionCount", int64(*s.CollisionCount)})...)
	}
	errs = append(errs, replicasAbove(statusPath, s.Replicas,
		namedCount{"readyReplicas", s.ReadyReplicas},
		namedCount{"currentReplicas", s.CurrentReplicas},
		namedCount{"updatedReplicas", s.UpdatedReplicas},
		namedCount{"availableReplicas", s.AvailableReplicas},
	)...)
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&sts.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, validateCollisionCountUpdate(s.CollisionCount, old.Status.CollisionCount)...)
}

func validateStatefulSetSpec(spec *appsv1.StatefulSetSpec, p *field.Path, opts statefulSetOptions) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(p.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(p.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateStatefulSetUpdateStrategy(&spec.UpdateStrategy, p.Child("updateStrategy"))...)
	if policy := spec.PersistentVolumeClaimRetentionPolicy; policy != nil {
		pp := p.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateClaimRetentionPolicyType(policy.WhenDeleted, pp.Child("whenDeleted"))...)
		errs = append(errs, validateClaimRetentionPolicyType(policy.WhenScaled, pp.Child("whenScaled"))...)
	}
	if !opts.skipClaimTemplates {
		for i := range spec.VolumeClaimTemplates {
			errs = append(errs, core.ValidatePersistentVolumeClaimSpec(&spec.VolumeClaimTemplates[i].Spec, core.ClaimSpecOptions{},
				p.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
		}
	}
	errs = append(errs, nonnegative(p,
		namedValue{"replicas", deref32(spec.Replicas)},
		namedValue{"minReadySeconds", int64(spec.MinReadySeconds)},
	)...)
	if spec.Ordinals != nil {
		// Upstream names the path with a dotted child.
		errs = append(errs, nonnegative(p, namedValue{"ordinals.start", int64(spec.Ordinals.Start)})...)
	}
	if !opts.allowInvalidServiceName && spec.ServiceName != "" {
		errs = append(errs, core.ValidateDNS1123Label(spec.ServiceName, p.Child("serviceName"))...)
	}
	selector, selErrs := validateWorkloadSelector(spec.Selector, "statefulset", "", p.Child("selector"))
	errs = append(errs, selErrs...)
	if selector != nil {
		errs = append(errs, validateStatefulSetTemplate(spec, selector, p.Child("template"), opts)...)
	}
	return append(errs, validateAlwaysRestartingTemplate(&spec.Template, "StatefulSet", p.Child("template"))...)
}

// validateStatefulSetTemplate validates a StatefulSet's pod template as its
// pods will have it: without the hostname and subdomain the controller
// overwrites, and with a claim volume for each volume claim template
// (replacing a template volume of the same name).
func validateStatefulSetTemplate(spec *appsv1.StatefulSetSpec, selector labels.Selector, p *field.Path, opts statefulSetOptions) field.ErrorList {
	t := &spec.Template
	if t.Spec.Subdomain != "" || t.Spec.Hostname != "" || len(spec.VolumeClaimTemplates) > 0 {
		t = t.DeepCopy()
		t.Spec.Subdomain, t.Spec.Hostname = "", ""
		if len(spec.VolumeClaimTemplates) > 0 {
			claimed := make(map[string]bool, len(spec.VolumeClaimTemplates))
			volumes := make([]corev1.Volume, 0, len(spec.VolumeClaimTemplates)+len(t.Spec.Volumes))
			for _, claim := range spec.VolumeClaimTemplates {
				if claimed[claim.Name] {
					continue
				}
				claimed[claim.Name] = true
				volumes = append(volumes, corev1.Volume{Name: claim.Name, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name},
				}})
			}
			for _, v := range t.Spec.Volumes {
				if !claimed[v.Name] {
					volumes = append(volumes, v)
				}
			}
			t.Spec.Volumes = volumes
		}
	}
	errs := validateTemplateLabelsMatch(selector, t, p)
	if !opts.skipTemplate {
		errs = append(errs, core.ValidatePodTemplateSpec(t, p)...)
	}
	// Upstream checks the labels and annotations once more, whether or not
	// it skipped the template.
	errs = append(errs, metav1validation.ValidateLabels(t.Labels, p.Child("labels"))...)
	return append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, p.Child("annotations"))...)
}

// validateStatefulSetUpdateStrategy validates the update strategy:
// RollingUpdate (with a partition and maxUnavailable in range) or OnDelete
// (without rollingUpdate). The Recreate type of Kubernetes 1.37 is behind an
// alpha gate, off, so it is refused.
func validateStatefulSetUpdateStrategy(s *appsv1.StatefulSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(p.Child("rollingUpdate"), s.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType))}
		}
		return nil
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if s.RollingUpdate == nil {
			return nil
		}
		rp := p.Child("rollingUpdate")
		errs := nonnegative(rp, namedValue{"partition", deref32(s.RollingUpdate.Partition)})
		if mu := s.RollingUpdate.MaxUnavailable; mu != nil {
			errs = append(errs, ValidatePositiveIntOrPercent(*mu, rp.Child("maxUnavailable"))...)
			if intOrPercentValue(*mu) == 0 {
				errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), *mu, "cannot be 0"))
			}
			errs = append(errs, IsNotMoreThan100Percent(*mu, rp.Child("maxUnavailable"))...)
		}
		return errs
	default:
		return field.ErrorList{field.Invalid(p, *s, fmt.Sprintf("must be '%s' or '%s'",
			appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType))}
	}
}

func validateClaimRetentionPolicyType(t appsv1.PersistentVolumeClaimRetentionPolicyType, p *field.Path) field.ErrorList {
	switch t {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, t, []string{
		string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}
