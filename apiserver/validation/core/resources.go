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
	resourcehelper "k8s.io/component-helpers/resource"
)

// Details of resource errors, as upstream words them.
const (
	notIntegerMsg  = "must be an integer"
	notPositiveMsg = "must be greater than zero"
)

// The resource names upstream knows, by where they may be used.
var (
	standardContainerResources = sets.New(corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage)
	countedObjectResources     = []corev1.ResourceName{
		corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
		corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
		corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
	}
	computeQuotaResources = []corev1.ResourceName{
		corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
		corev1.ResourceRequestsStorage,
	}
	integerResources        = sets.New(countedObjectResources...)
	standardQuotaResources  = sets.New(countedObjectResources...).Insert(computeQuotaResources...)
	standardResourceNames   = sets.New(countedObjectResources...).Insert(computeQuotaResources...).Insert(corev1.ResourceStorage)
	qosComputeResourceNames = sets.New(corev1.ResourceCPU, corev1.ResourceMemory)
)

// IsHugePageResourceName reports a hugepages-<size> resource.
func IsHugePageResourceName(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// isQuotaHugePageResourceName reports hugepages-<size> and
// requests.hugepages-<size>.
func isQuotaHugePageResourceName(name corev1.ResourceName) bool {
	return IsHugePageResourceName(name) || strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix)
}

// IsNativeResource reports a resource in the kubernetes.io namespace; a
// name without a domain is implicitly in it.
func IsNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

// IsOvercommitAllowed reports a resource whose request may be below its
// limit: a native resource other than hugepages.
func IsOvercommitAllowed(name corev1.ResourceName) bool {
	return IsNativeResource(name) && !IsHugePageResourceName(name)
}

// IsExtendedResourceName reports an extended resource: outside the
// kubernetes.io namespace, not prefixed "requests.", and still a qualified
// name once prefixed so for quota.
func IsExtendedResourceName(name corev1.ResourceName) bool {
	if IsNativeResource(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// IsIntegerResourceName reports a resource counted in whole units: object
// counts and extended resources.
func IsIntegerResourceName(name corev1.ResourceName) bool {
	return integerResources.Has(name) || IsExtendedResourceName(name)
}

// IsStandardResourceName reports a resource name the system knows.
func IsStandardResourceName(name corev1.ResourceName) bool {
	return standardResourceNames.Has(name) || isQuotaHugePageResourceName(name)
}

// IsStandardContainerResourceName reports a resource a container may
// request without a domain: cpu, memory, ephemeral-storage and hugepages.
func IsStandardContainerResourceName(name corev1.ResourceName) bool {
	return standardContainerResources.Has(name) || IsHugePageResourceName(name)
}

// IsStandardQuotaResourceName reports a resource the quota system tracks
// without a domain.
func IsStandardQuotaResourceName(name corev1.ResourceName) bool {
	return standardQuotaResources.Has(name) || isQuotaHugePageResourceName(name)
}

// ValidateResourceName validates a resource name at fldPath: a qualified
// name, and a standard one when it has no domain.
func ValidateResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") && !IsStandardResourceName(name) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

// ValidateContainerResourceName validates the name of a resource a
// container requests or limits: as ValidateResourceName, and a container
// resource (without a domain) or an extended resource (with one).
func ValidateContainerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	errs := ValidateResourceName(name, fldPath)
	if !strings.Contains(string(name), "/") {
		if !IsStandardContainerResourceName(name) {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	} else if !IsNativeResource(name) && !IsExtendedResourceName(name) {
		errs = append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// ValidateResourceQuotaResourceName validates a resource name of a quota:
// as ValidateResourceName, and one quota tracks when it has no domain.
func ValidateResourceQuotaResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	errs := ValidateResourceName(name, fldPath)
	if !strings.Contains(string(name), "/") && !IsStandardQuotaResourceName(name) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for quota"))
	}
	return errs
}

// validatePodLevelResourceName validates a resource named in pod-level
// resources: a valid resource name that pod-level resources support.
func validatePodLevelResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if errs := ValidateResourceName(name, fldPath); len(errs) > 0 {
		return errs
	}
	if !resourcehelper.IsSupportedPodLevelResource(name) {
		return field.ErrorList{field.NotSupported(fldPath, name, sets.List(resourcehelper.SupportedPodLevelResources()))}
	}
	return nil
}

// ValidateNonnegativeQuantity validates that q is not negative.
func ValidateNonnegativeQuantity(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Cmp(resource.Quantity{}) < 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), apimachineryvalidation.IsNegativeErrorMsg)}
	}
	return nil
}

// ValidatePositiveQuantityValue validates that q is above zero.
func ValidatePositiveQuantityValue(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Cmp(resource.Quantity{}) <= 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), notPositiveMsg)}
	}
	return nil
}

// ValidateResourceQuantityValue validates the quantity of resource name:
// not negative, and whole for resources counted in units.
func ValidateResourceQuantityValue(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	errs := ValidateNonnegativeQuantity(q, fldPath)
	if IsIntegerResourceName(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q, notIntegerMsg))
	}
	return errs
}

// hugePageValueError is upstream's error for a hugepages quantity that is
// not a whole number of pages, or nil.
func hugePageValueError(name corev1.ResourceName, q resource.Quantity) error {
	if !IsHugePageResourceName(name) {
		return nil
	}
	size, err := resource.ParseQuantity(strings.TrimPrefix(string(name), corev1.ResourceHugePagesPrefix))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 || q.Value()%size.Value() != 0 {
		return fmt.Errorf("%s is not positive integer multiple of %s", q.String(), name)
	}
	return nil
}

// ValidateContainerResourceRequirements validates the resources of a
// container at fldPath: names and quantities of limits and requests,
// requests within limits (equal for resources that may not be
// overcommitted), hugepages alongside cpu or memory, and claims that name
// entries of the pod's resourceClaims (podClaimNames).
func ValidateContainerResourceRequirements(r *corev1.ResourceRequirements, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	return validateResourceRequirements(r, ValidateContainerResourceName, podClaimNames, fldPath)
}

func validateResourceRequirements(r *corev1.ResourceRequirements, nameFn func(corev1.ResourceName, *field.Path) field.ErrorList, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limitsPath, requestsPath := fldPath.Child("limits"), fldPath.Child("requests")
	hasQoSResource, hasHugePages := false, false
	for name, q := range r.Limits {
		p := limitsPath.Key(string(name))
		errs = append(errs, nameFn(name, p)...)
		errs = append(errs, ValidateResourceQuantityValue(name, q, p)...)
		if IsHugePageResourceName(name) {
			hasHugePages = true
			if err := hugePageValueError(name, q); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		hasQoSResource = hasQoSResource || qosComputeResourceNames.Has(name)
	}
	for name, q := range r.Requests {
		p := requestsPath.Key(string(name))
		errs = append(errs, nameFn(name, p)...)
		errs = append(errs, ValidateResourceQuantityValue(name, q, p)...)
		if limit, ok := r.Limits[name]; ok {
			// Upstream reports these at the requests map, not the key.
			if q.Cmp(limit) != 0 && !IsOvercommitAllowed(name) {
				errs = append(errs, field.Invalid(requestsPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
			} else if q.Cmp(limit) > 0 {
				errs = append(errs, field.Invalid(requestsPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
			}
		} else if !IsOvercommitAllowed(name) {
			errs = append(errs, field.Required(limitsPath, "Limit must be set for non overcommitable resources"))
		}
		if IsHugePageResourceName(name) {
			hasHugePages = true
			if err := hugePageValueError(name, q); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		hasQoSResource = hasQoSResource || qosComputeResourceNames.Has(name)
	}
	if hasHugePages && !hasQoSResource {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return append(errs, validateResourceClaimRefs(r.Claims, podClaimNames, fldPath.Child("claims"))...)
}

// validateResourceClaimRefs validates the claims a container's resources
// use: each names an entry of the pod's resourceClaims (and optionally one
// of its requests), once.
func validateResourceClaimRefs(claims []corev1.ResourceClaim, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, claim := range claims {
		p := fldPath.Index(i)
		if claim.Name == "" {
			errs = append(errs, field.Required(p, ""))
			continue
		}
		if seen.Has(claim.Name) {
			// Every request of this claim is already in use.
			errs = append(errs, field.Duplicate(p, claim.Name))
		} else {
			key := claim.Name
			if claim.Request != "" {
				errs = append(errs, ValidateDNS1123Label(claim.Request, p.Child("request"))...)
				key += "/" + claim.Request
			}
			switch {
			case seen.Has(key):
				errs = append(errs, field.Duplicate(p, key))
			case claim.Request == "":
				// The whole claim overlaps any of its requests used before.
				for used := range seen {
					if claimName, _, ok := strings.Cut(used, "/"); ok && claimName == claim.Name {
						errs = append(errs, field.Duplicate(p, claim.Name))
					}
				}
			}
			seen.Insert(key)
		}
		if !podClaimNames.Has(claim.Name) {
			notFound := field.NotFound(p, claim.Name)
			notFound.Detail = "must be one of the names in pod.spec.resourceClaims"
			if len(podClaimNames) == 0 {
				notFound.Detail += " which is empty"
			} else {
				notFound.Detail += ": " + strings.Join(sets.List(podClaimNames), ", ")
			}
			errs = append(errs, notFound)
		}
	}
	return errs
}
