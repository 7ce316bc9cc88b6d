package resource

import (
	"errors"
	"fmt"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	dracel "k8s.io/dynamic-resource-allocation/cel"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateResourceClaim validates a new ResourceClaim: a namespaced object
// named as a DNS subdomain, with a valid device claim.
func ValidateResourceClaim(c *resourcev1.ResourceClaim) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateDeviceClaim(&c.Spec.Devices, field.NewPath("spec", "devices"))...)
}

// ValidateResourceClaimUpdate validates an update of a ResourceClaim: the
// spec is immutable, and only that is checked of it.
func ValidateResourceClaimUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(c.Spec, old.Spec, field.NewPath("spec"))...)
}

// ValidateResourceClaimStatusUpdate validates a write to the status
// subresource: consumers (reservedFor) are complete and distinct and need an
// allocation, none may be added once the claim is being deleted, and an
// allocation, once set, is immutable.
func ValidateResourceClaimStatusUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
	statusPath := field.NewPath("status")
	reservedPath := statusPath.Child("reservedFor")
	if n := len(c.Status.ReservedFor); n > resourcev1.ResourceClaimReservedForMaxSize {
		errs = append(errs, field.TooMany(reservedPath, n, resourcev1.ResourceClaimReservedForMaxSize))
	} else {
		uids := sets.New[types.UID]()
		for i, ref := range c.Status.ReservedFor {
			idxPath := reservedPath.Index(i)
			if ref.Resource == "" {
				errs = append(errs, field.Required(idxPath.Child("resource"), ""))
			}
			if ref.Name == "" {
				errs = append(errs, field.Required(idxPath.Child("name"), ""))
			}
			if ref.UID == "" {
				errs = append(errs, field.Required(idxPath.Child("uid"), ""))
			}
			if uids.Has(ref.UID) {
				errs = append(errs, field.Duplicate(idxPath, ref.UID))
			}
			uids.Insert(ref.UID)
		}
	}
	if len(c.Status.ReservedFor) > 0 {
		if c.Status.Allocation == nil {
			errs = append(errs, field.Forbidden(reservedPath, "may not be specified when `allocated` is not set"))
		} else if c.DeletionTimestamp != nil {
			had := sets.New(old.Status.ReservedFor...)
			for _, ref := range c.Status.ReservedFor {
				if !had.Has(ref) {
					errs = append(errs, field.Forbidden(reservedPath, "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set"))
					break
				}
			}
		}
	}
	if old.Status.Allocation != nil && c.Status.Allocation != nil {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(c.Status.Allocation, old.Status.Allocation, statusPath.Child("allocation"))...)
	} else if a := c.Status.Allocation; a != nil {
		errs = append(errs, validateAllocationResults(a, gatherRequestNames(&c.Spec.Devices), statusPath.Child("allocation", "devices", "results"))...)
	}
	return errs
}

// ValidateResourceClaimTemplate validates a new ResourceClaimTemplate: its
// template metadata carries only labels and annotations, and its claim spec
// is valid.
func ValidateResourceClaimTemplate(t *resourcev1.ResourceClaimTemplate) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&t.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateClaimTemplateSpec(&t.Spec, field.NewPath("spec"))...)
}

// ValidateResourceClaimTemplateUpdate validates an update of a
// ResourceClaimTemplate: its spec is immutable.
func ValidateResourceClaimTemplateUpdate(t, old *resourcev1.ResourceClaimTemplate) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&t.ObjectMeta, &old.ObjectMeta)
	return append(errs, apimachineryvalidation.ValidateImmutableField(t.Spec, old.Spec, field.NewPath("spec"))...)
}

func validateClaimTemplateSpec(spec *resourcev1.ResourceClaimTemplateSpec, fldPath *field.Path) field.ErrorList {
	metaPath := fldPath.Child("metadata")
	errs := apimachineryvalidation.ValidateAnnotations(spec.Annotations, metaPath.Child("annotations"))
	errs = append(errs, validateLabels(spec.Labels, metaPath.Child("labels"))...)
	m := spec.ObjectMeta
	m.Labels, m.Annotations = nil, nil
	if m.Name != "" || m.GenerateName != "" || m.Namespace != "" || m.UID != "" || m.ResourceVersion != "" ||
		m.Generation != 0 || !m.CreationTimestamp.IsZero() || m.DeletionTimestamp != nil || len(m.OwnerReferences) != 0 ||
		len(m.Finalizers) != 0 || len(m.ManagedFields) != 0 || m.DeletionGracePeriodSeconds != nil || m.SelfLink != "" {
		errs = append(errs, field.Forbidden(metaPath, "cannot be set"))
	}
	return append(errs, validateDeviceClaim(&spec.Spec.Devices, fldPath.Child("spec", "devices"))...)
}

// requestNames maps each request to its subrequests (nil for a request
// without firstAvailable).
type requestNames map[string]sets.Set[string]

// has says whether ref names a request, or "request/subrequest".
func (r requestNames) has(ref string) bool {
	parts := strings.Split(ref, "/")
	subs, ok := r[parts[0]]
	switch {
	case !ok || len(parts) > 2:
		return false
	case len(parts) == 1:
		return true
	default:
		return subs.Has(parts[1])
	}
}

func gatherRequestNames(claim *resourcev1.DeviceClaim) requestNames {
	names := requestNames{}
	for _, r := range claim.Requests {
		if len(r.FirstAvailable) == 0 {
			names[r.Name] = nil
			continue
		}
		subs := sets.New[string]()
		for _, s := range r.FirstAvailable {
			subs.Insert(s.Name)
		}
		names[r.Name] = subs
	}
	return names
}

func validateDeviceClaim(claim *resourcev1.DeviceClaim, fldPath *field.Path) field.ErrorList {
	names := gatherRequestNames(claim)
	errs := validateList(len(claim.Requests), resourcev1.DeviceRequestsMaxSize, fldPath.Child("requests"), func(i int, p *field.Path) field.ErrorList {
		return validateDeviceRequest(claim.Requests[i], p)
	}, func(i int) string { return claim.Requests[i].Name })
	errs = append(errs, validateList(len(claim.Constraints), resourcev1.DeviceConstraintsMaxSize, fldPath.Child("constraints"), func(i int, p *field.Path) field.ErrorList {
		return validateConstraint(claim.Constraints[i], names, p)
	}, nil)...)
	return append(errs, validateList(len(claim.Config), resourcev1.DeviceConfigMaxSize, fldPath.Child("config"), func(i int, p *field.Path) field.ErrorList {
		c := claim.Config[i]
		return append(validateRequestRefs(c.Requests, names, p.Child("requests")), validateDeviceConfiguration(c.DeviceConfiguration, p)...)
	}, nil)...)
}

// validateList checks each item with item, reports (if key is set) a key
// seen before as a duplicate, and bounds the list's length.
func validateList(n, max int, fldPath *field.Path, item func(int, *field.Path) field.ErrorList, key func(int) string) field.ErrorList {
	var errs field.ErrorList
	if max >= 0 && n > max {
		errs = append(errs, field.TooMany(fldPath, n, max))
	}
	seen := sets.New[string]()
	for i := 0; i < n; i++ {
		errs = append(errs, item(i, fldPath.Index(i))...)
		if key == nil {
			continue
		}
		if k := key(i); seen.Has(k) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), k))
		} else {
			seen.Insert(k)
		}
	}
	return errs
}

func validateDeviceRequest(r resourcev1.DeviceRequest, fldPath *field.Path) field.ErrorList {
	errs := validateDNSLabel(r.Name, fldPath.Child("name"))
	hasExactly, hasFirst := r.Exactly != nil, len(r.FirstAvailable) > 0
	switch {
	case !hasExactly && !hasFirst:
		errs = append(errs, field.Required(fldPath, "exactly one of `exactly` or `firstAvailable` is required"))
	case hasExactly && hasFirst:
		errs = append(errs, field.Invalid(fldPath, nil, "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set"))
	case hasFirst:
		errs = append(errs, validateList(len(r.FirstAvailable), resourcev1.FirstAvailableDeviceRequestMaxSize, fldPath.Child("firstAvailable"), func(i int, p *field.Path) field.ErrorList {
			s := r.FirstAvailable[i]
			e := validateDNSLabel(s.Name, p.Child("name"))
			return append(e, validateRequestFields(s.DeviceClassName, s.Selectors, s.AllocationMode, s.Count, s.Tolerations, p)...)
		}, func(i int) string { return r.FirstAvailable[i].Name })...)
	default:
		e := r.Exactly
		errs = append(errs, validateRequestFields(e.DeviceClassName, e.Selectors, e.AllocationMode, e.Count, e.Tolerations, fldPath.Child("exactly"))...)
	}
	return errs
}

func validateRequestFields(class string, selectors []resourcev1.DeviceSelector, mode resourcev1.DeviceAllocationMode, count int64,
	tolerations []resourcev1.DeviceToleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	classPath := fldPath.Child("deviceClassName")
	if class == "" {
		errs = append(errs, field.Required(classPath, ""))
	} else {
		errs = append(errs, validateDNSSubdomain(class, classPath)...)
	}
	errs = append(errs, validateSelectors(selectors, fldPath.Child("selectors"))...)
	countPath := fldPath.Child("count")
	switch mode {
	case resourcev1.DeviceAllocationModeAll:
		if count != 0 {
			errs = append(errs, field.Invalid(countPath, count, fmt.Sprintf("must not be specified when allocationMode is '%s'", mode)))
		}
	case resourcev1.DeviceAllocationModeExactCount:
		if count <= 0 {
			errs = append(errs, field.Invalid(countPath, count, "must be greater than zero"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("allocationMode"), mode,
			[]resourcev1.DeviceAllocationMode{resourcev1.DeviceAllocationModeAll, resourcev1.DeviceAllocationModeExactCount}))
	}
	for i, t := range tolerations {
		errs = append(errs, validateToleration(t, fldPath.Child("tolerations").Index(i))...)
	}
	return errs
}

func validateSelectors(selectors []resourcev1.DeviceSelector, fldPath *field.Path) field.ErrorList {
	return validateList(len(selectors), resourcev1.DeviceSelectorsMaxSize, fldPath, func(i int, p *field.Path) field.ErrorList {
		if selectors[i].CEL == nil {
			return field.ErrorList{field.Required(p.Child("cel"), "")}
		}
		return validateCELExpression(selectors[i].CEL.Expression, p.Child("cel", "expression"))
	}, nil)
}

// validateCELExpression bounds a selector's length and compiles it with the
// DRA CEL environment for new expressions, rejecting it if it does not
// compile or may cost more than upstream's limit.
func validateCELExpression(expr string, fldPath *field.Path) field.ErrorList {
	if len(expr) > resourcev1.CELSelectorExpressionMaxLength {
		return field.ErrorList{field.TooLong(fldPath, "", resourcev1.CELSelectorExpressionMaxLength)}
	}
	envType := environment.NewExpressions
	// DRAConsumableCapacity and DRAListTypeAttributes are on by default in 1.37.
	result := dracel.GetCompiler(dracel.Features{EnableConsumableCapacity: true, EnableListTypeAttributes: true}).
		CompileCELExpression(expr, dracel.Options{EnvType: &envType})
	if result.Error != nil {
		var celErr *apiservercel.Error
		if errors.As(result.Error, &celErr) {
			switch celErr.Type {
			case apiservercel.ErrorTypeRequired:
				return field.ErrorList{field.Required(fldPath, celErr.Detail)}
			case apiservercel.ErrorTypeInvalid:
				return field.ErrorList{field.Invalid(fldPath, expr, celErr.Detail)}
			}
		}
		return field.ErrorList{field.InternalError(fldPath, result.Error)}
	}
	if result.MaxCost > resourcev1.CELSelectorExpressionMaxCost {
		return field.ErrorList{field.Forbidden(fldPath, "too complex, exceeds cost limit")}
	}
	return nil
}

func validateConstraint(c resourcev1.DeviceConstraint, names requestNames, fldPath *field.Path) field.ErrorList {
	errs := validateRequestRefs(c.Requests, names, fldPath.Child("requests"))
	switch {
	case c.MatchAttribute != nil:
		errs = append(errs, validateFullyQualifiedName(string(*c.MatchAttribute), fldPath.Child("matchAttribute"))...)
	case c.DistinctAttribute != nil:
		errs = append(errs, validateFullyQualifiedName(string(*c.DistinctAttribute), fldPath.Child("distinctAttribute"))...)
	default:
		// Upstream's wording with DRAConsumableCapacity on.
		errs = append(errs, field.Required(fldPath, `exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set`))
	}
	return errs
}

// validateFullyQualifiedName requires "<domain>/<id>": a DNS subdomain and a
// C identifier of at most 32 characters.
func validateFullyQualifiedName(name string, fldPath *field.Path) field.ErrorList {
	domain, id, ok := strings.Cut(name, "/")
	if !ok {
		return field.ErrorList{field.Required(fldPath, "must include a domain")}
	}
	var errs field.ErrorList
	if domain == "" {
		errs = append(errs, field.Required(fldPath, "the domain must not be empty"))
	} else {
		errs = append(errs, validateDNSSubdomain(domain, fldPath)...)
	}
	if id == "" {
		errs = append(errs, field.Required(fldPath, "the name must not be empty"))
	} else {
		if len(id) > resourcev1.DeviceMaxIDLength {
			errs = append(errs, field.TooLong(fldPath, "", resourcev1.DeviceMaxIDLength))
		}
		for _, msg := range validation.IsCIdentifier(id) {
			errs = append(errs, field.Invalid(fldPath, id, msg))
		}
	}
	return errs
}

func validateRequestRefs(refs []string, names requestNames, fldPath *field.Path) field.ErrorList {
	const msg = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"
	return validateList(len(refs), resourcev1.DeviceRequestsMaxSize, fldPath, func(i int, p *field.Path) field.ErrorList {
		ref := refs[i]
		parts := strings.Split(ref, "/")
		if len(parts) > 2 {
			return field.ErrorList{field.Invalid(p, ref, msg)}
		}
		var errs field.ErrorList
		for _, part := range parts {
			errs = append(errs, validateDNSLabel(part, p)...)
		}
		if !names.has(ref) {
			errs = append(errs, field.Invalid(p, ref, msg))
		}
		return errs
	}, func(i int) string { return refs[i] })
}

func validateDeviceConfiguration(c resourcev1.DeviceConfiguration, fldPath *field.Path) field.ErrorList {
	if c.Opaque == nil {
		return field.ErrorList{field.Required(fldPath.Child("opaque"), "")}
	}
	p := fldPath.Child("opaque")
	errs := validateDriverName(c.Opaque.Driver, p.Child("driver"))
	return append(errs, validateRawExtension(c.Opaque.Parameters, p.Child("parameters"))...)
}

// validateRawExtension requires opaque parameters: a JSON object within the
// size limit.
func validateRawExtension(raw runtime.RawExtension, fldPath *field.Path) field.ErrorList {
	switch {
	case len(raw.Raw) == 0:
		return field.ErrorList{field.Required(fldPath, "")}
	case len(raw.Raw) > resourcev1.OpaqueParametersMaxLength:
		return field.ErrorList{field.TooLong(fldPath, "", resourcev1.OpaqueParametersMaxLength)}
	}
	var obj map[string]any
	if err := jsonUnmarshal(raw.Raw, &obj); err != nil {
		return field.ErrorList{field.Invalid(fldPath, "<value omitted>", fmt.Sprintf("error parsing data as JSON: %v", err.Error()))}
	}
	if obj == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

var tolerationEffects = []resourcev1.DeviceTaintEffect{resourcev1.DeviceTaintEffectNoExecute, resourcev1.DeviceTaintEffectNoSchedule, resourcev1.DeviceTaintEffectNone}

func validateToleration(t resourcev1.DeviceToleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Key != "" {
		errs = append(errs, validateLabelName(t.Key, fldPath.Child("key"))...)
	}
	switch t.Operator {
	case resourcev1.DeviceTolerationOpExists:
		if t.Value != "" {
			errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, "must be empty for operator `Exists`"))
		}
	case resourcev1.DeviceTolerationOpEqual:
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, msg))
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("operator"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("operator"), t.Operator,
			[]resourcev1.DeviceTolerationOperator{resourcev1.DeviceTolerationOpEqual, resourcev1.DeviceTolerationOpExists}))
	}
	if t.Effect != "" {
		known := false
		for _, e := range tolerationEffects {
			known = known || e == t.Effect
		}
		if !known {
			errs = append(errs, field.NotSupported(fldPath.Child("effect"), t.Effect, tolerationEffects))
		}
	}
	return errs
}

func validateAllocationResults(a *resourcev1.AllocationResult, names requestNames, fldPath *field.Path) field.ErrorList {
	return validateList(len(a.Devices.Results), resourcev1.AllocationResultsMaxSize, fldPath, func(i int, p *field.Path) field.ErrorList {
		r := a.Devices.Results[i]
		errs := validateRequestRefs([]string{r.Request}, names, p.Child("request"))
		// validateRequestRefs indexes its list; a single reference is reported
		// at the field itself, as upstream does.
		for _, e := range errs {
			e.Field = p.Child("request").String()
		}
		errs = append(errs, validateDriverName(r.Driver, p.Child("driver"))...)
		errs = append(errs, validatePoolName(r.Pool, p.Child("pool"))...)
		return append(errs, validateDNSLabel(r.Device, p.Child("device"))...)
	}, nil)
}
