package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// existsOnlyScopesMsg is upstream's detail for a scope selector on a scope
// that only knows the Exists operator.
const existsOnlyScopesMsg = "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"

var (
	quotaScopes = sets.New(
		corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
		corev1.ResourceQuotaScopeVolumeAttributesClass,
	)
	// existsOnlyQuotaScopes are the scopes that match or not, with no value.
	existsOnlyQuotaScopes = sets.New(
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
	)
	// conflictingQuotaScopes are the pairs of scopes no pod is in at once.
	conflictingQuotaScopes = [][2]corev1.ResourceQuotaScope{
		{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
		{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
	}
	podCountQuotaResources   = sets.New(corev1.ResourcePods)
	podComputeQuotaResources = sets.New(corev1.ResourceCPU, corev1.ResourceMemory,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory)
	claimQuotaResources = sets.New(corev1.ResourcePersistentVolumeClaims, corev1.ResourceRequestsStorage)
)

// quotaScopeTracks reports whether a quota scope applies to the standard
// resource name: pod scopes track pods (BestEffort only their count),
// VolumeAttributesClass tracks claims.
func quotaScopeTracks(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podCountQuotaResources.Has(name) || podComputeQuotaResources.Has(name)
	case corev1.ResourceQuotaScopeBestEffort:
		return podCountQuotaResources.Has(name)
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return claimQuotaResources.Has(name)
	}
	return true
}

// ValidateResourceQuota validates a new ResourceQuota: a namespaced object
// named as a DNS subdomain whose hard limits, scopes, scope selector and
// status quantities are valid.
func ValidateResourceQuota(q *corev1.ResourceQuota) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&q.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validateResourceQuotaSpec(&q.Spec, field.NewPath("spec"))...)
	return append(errs, validateResourceQuotaStatus(&q.Status, field.NewPath("status"))...)
}

// ValidateResourceQuotaUpdate validates an update of a ResourceQuota: a
// valid spec whose scopes do not change.
func ValidateResourceQuotaUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&q.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateResourceQuotaSpec(&q.Spec, field.NewPath("spec"))...)
	newScopes, oldScopes := sets.New(q.Spec.Scopes...), sets.New(old.Spec.Scopes...)
	if !newScopes.Equal(oldScopes) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), q.Spec.Scopes, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

// ValidateResourceQuotaStatusUpdate validates an update through
// resourcequotas/status: a resourceVersion and valid hard and used
// quantities.
func ValidateResourceQuotaStatusUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&q.ObjectMeta, &old.ObjectMeta)
	if q.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return append(errs, validateResourceQuotaStatus(&q.Status, field.NewPath("status"))...)
}

func validateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	errs := validateQuotaResources(spec.Hard, fldPath.Child("hard"))
	errs = append(errs, validateQuotaScopes(spec, fldPath.Child("scopes"))...)
	if spec.ScopeSelector != nil {
		errs = append(errs, validateQuotaScopeSelector(spec, fldPath.Child("scopeSelector", "matchExpressions"))...)
	}
	return errs
}

func validateResourceQuotaStatus(status *corev1.ResourceQuotaStatus, fldPath *field.Path) field.ErrorList {
	errs := validateQuotaResources(status.Hard, fldPath.Child("hard"))
	return append(errs, validateQuotaResources(status.Used, fldPath.Child("used"))...)
}

// validateQuotaResources validates the names and quantities of a quota's
// resource list.
func validateQuotaResources(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		p := fldPath.Key(string(name))
		errs = append(errs, ValidateResourceQuotaResourceName(name, p)...)
		errs = append(errs, ValidateResourceQuantityValue(name, q, p)...)
	}
	return errs
}

// validateQuotaScopes validates the scopes of a quota: known ones, that
// track every standard resource of the hard limits, and not conflicting.
// Upstream reports each problem at the list with the whole list.
func validateQuotaScopes(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	if len(spec.Scopes) == 0 {
		return nil
	}
	var errs field.ErrorList
	hard := sets.KeySet(spec.Hard)
	for _, scope := range spec.Scopes {
		if !quotaScopes.Has(scope) {
			errs = append(errs, field.Invalid(fldPath, spec.Scopes, "unsupported scope"))
		}
		for _, name := range sets.List(hard) {
			if IsStandardQuotaResourceName(name) && !quotaScopeTracks(scope, name) {
				errs = append(errs, field.Invalid(fldPath, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
	}
	errs = append(errs, conflictingScopeErrs(sets.New(spec.Scopes...), spec.Scopes, fldPath)...)
	return errs
}

// validateQuotaScopeSelector validates the match expressions of a quota's
// scope selector, at fldPath, as validateQuotaScopes does scopes, and each
// operator with its values.
func validateQuotaScopeSelector(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	hard := sets.KeySet(spec.Hard)
	seen := sets.New[corev1.ResourceQuotaScope]()
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !quotaScopes.Has(req.ScopeName) {
			errs = append(errs, field.Invalid(fldPath.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		for _, name := range sets.List(hard) {
			if IsStandardQuotaResourceName(name) && !quotaScopeTracks(req.ScopeName, name) {
				errs = append(errs, field.Invalid(fldPath, spec.ScopeSelector, "unsupported scope applied to resource"))
			}
		}
		if existsOnlyQuotaScopes.Has(req.ScopeName) && req.Operator != corev1.ScopeSelectorOpExists {
			errs = append(errs, field.Invalid(fldPath.Child("operator"), req.Operator, existsOnlyScopesMsg))
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(fldPath.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				errs = append(errs, field.Invalid(fldPath.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		seen.Insert(req.ScopeName)
	}
	// Upstream reports selector conflicts with spec.scopes as the value.
	return append(errs, conflictingScopeErrs(seen, spec.Scopes, fldPath)...)
}

func conflictingScopeErrs(scopes sets.Set[corev1.ResourceQuotaScope], value any, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, pair := range conflictingQuotaScopes {
		if scopes.HasAll(pair[0], pair[1]) {
			errs = append(errs, field.Invalid(fldPath, value, "conflicting scopes"))
		}
	}
	return errs
}
