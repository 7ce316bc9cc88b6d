package resource

import (
	"fmt"
	"regexp"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
)

const nodeSelectionFields = "`nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection`"

// attributeKeyMaxLength bounds the keys shown in field paths of
// attributes and capacities: a domain, "/", an identifier.
const attributeKeyMaxLength = resourcev1.DeviceMaxDomainLength + 1 + resourcev1.DeviceMaxIDLength

// validateResourceSliceSpec applies upstream's rules to a slice: driver,
// pool, exactly one node selection, devices or shared counters (not both)
// within their limits, each device valid.
func validateResourceSliceSpec(spec *resourcev1.ResourceSliceSpec, fldPath *field.Path) field.ErrorList {
	errs := validateDriverName(spec.Driver, fldPath.Child("driver"))
	poolPath := fldPath.Child("pool")
	errs = append(errs, validatePoolName(spec.Pool.Name, poolPath.Child("name"))...)
	if spec.Pool.ResourceSliceCount <= 0 {
		errs = append(errs, field.Invalid(poolPath.Child("resourceSliceCount"), spec.Pool.ResourceSliceCount, "must be greater than zero"))
	}
	if spec.Pool.Generation < 0 {
		errs = append(errs, field.Invalid(poolPath.Child("generation"), spec.Pool.Generation, "must be greater than or equal to zero"))
	}

	var set []string
	if n := spec.NodeName; n != nil {
		if *n != "" {
			set = append(set, "`nodeName`")
			errs = append(errs, validateNodeName(*n, fldPath.Child("nodeName"))...)
		} else {
			errs = append(errs, field.Invalid(fldPath.Child("nodeName"), *n, "must be either unset or set to a non-empty string"))
		}
	}
	if sel := spec.NodeSelector; sel != nil {
		set = append(set, "`nodeSelector`")
		errs = append(errs, corevalidation.ValidateNodeSelector(sel, false, fldPath.Child("nodeSelector"))...)
		if len(sel.NodeSelectorTerms) != 1 {
			errs = append(errs, field.Invalid(fldPath.Child("nodeSelector", "nodeSelectorTerms"), sel.NodeSelectorTerms, "must have exactly one node selector term"))
		}
	}
	for _, b := range []struct {
		v    *bool
		name string
	}{{spec.AllNodes, "allNodes"}, {spec.PerDeviceNodeSelection, "perDeviceNodeSelection"}} {
		if b.v == nil {
			continue
		}
		if *b.v {
			set = append(set, "`"+b.name+"`")
		} else {
			errs = append(errs, field.Invalid(fldPath.Child(b.name), *b.v, "must be either unset or set to true"))
		}
	}
	switch len(set) {
	case 0:
		errs = append(errs, field.Required(fldPath, "exactly one of "+nodeSelectionFields+" is required"))
	case 1:
	default:
		errs = append(errs, field.Invalid(fldPath, fmt.Sprintf("{%s}", strings.Join(set, ", ")), "exactly one of "+nodeSelectionFields+" is required, but multiple fields are set"))
	}

	if spec.SharedCounters != nil && spec.Devices != nil {
		errs = append(errs, field.Invalid(fldPath, "", "only one of `sharedCounters` or `devices` is allowed"))
	}
	maxDevices := resourcev1.ResourceSliceMaxDevices
	if advancedDevices(spec) {
		maxDevices = resourcev1.ResourceSliceMaxDevicesWithAdvancedFeatures
	}
	perDevice := spec.PerDeviceNodeSelection != nil && *spec.PerDeviceNodeSelection
	errs = append(errs, validateBoundedSet(len(spec.Devices), maxDevices, fldPath.Child("devices"), func(i int, p *field.Path) field.ErrorList {
		return validateDevice(spec.Devices[i], p, perDevice)
	}, func(i int) string { return spec.Devices[i].Name })...)
	errs = append(errs, validateBoundedSet(len(spec.SharedCounters), resourcev1.ResourceSliceMaxCounterSets, fldPath.Child("sharedCounters"), func(i int, p *field.Path) field.ErrorList {
		return validateCounters(spec.SharedCounters[i].Name, "name", len(spec.SharedCounters[i].Counters), resourcev1.ResourceSliceMaxCountersPerCounterSet, p, counterKeys(spec.SharedCounters[i].Counters))
	}, func(i int) string { return spec.SharedCounters[i].Name })...)
	return errs
}

// validateBoundedSet is validateList, except that a list over its limit
// is reported alone (its items are not looked at), as upstream does.
func validateBoundedSet(n, max int, fldPath *field.Path, item func(int, *field.Path) field.ErrorList, key func(int) string) field.ErrorList {
	if max >= 0 && n > max {
		return field.ErrorList{field.TooMany(fldPath, n, max)}
	}
	return validateList(n, -1, fldPath, item, key)
}

// advancedDevices: taints, counter consumption or list attributes lower
// the device limit of a slice.
func advancedDevices(spec *resourcev1.ResourceSliceSpec) bool {
	for _, d := range spec.Devices {
		if len(d.Taints) > 0 || len(d.ConsumesCounters) > 0 {
			return true
		}
		for _, a := range d.Attributes {
			if a.BoolValues != nil || a.IntValues != nil || a.StringValues != nil || a.VersionValues != nil {
				return true
			}
		}
	}
	return false
}

func validateNodeName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

func counterKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// validateCounters checks a counter set or a consumption: its DNS-label
// name (field nameField), and one to max counters named as DNS labels.
func validateCounters(name, nameField string, n, max int, fldPath *field.Path, keys []string) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child(nameField), ""))
	} else {
		errs = append(errs, validateDNSLabel(name, fldPath.Child(nameField))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(fldPath.Child("counters"), ""))
	case n > max:
		errs = append(errs, field.TooMany(fldPath.Child("counters"), n, max))
	default:
		for _, k := range sets.List(sets.New(keys...)) {
			errs = append(errs, validateDNSLabel(k, fldPath.Child("counters"))...)
		}
	}
	return errs
}

func validateDevice(d resourcev1.Device, fldPath *field.Path, perDeviceNodeSelection bool) field.ErrorList {
	errs := validateDNSLabel(d.Name, fldPath.Child("name"))
	if n := len(d.Attributes) + len(d.Capacity); n > resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice {
		errs = append(errs, field.Invalid(fldPath, n, fmt.Sprintf("the total number of attributes and capacities must not exceed %d", resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice)))
	}
	if n := attributeValues(d); n > resourcev1.ResourceSliceMaxAttributeValuesPerDevice {
		errs = append(errs, field.Invalid(fldPath, n, fmt.Sprintf("the total number of attribute values must not exceed %d", resourcev1.ResourceSliceMaxAttributeValuesPerDevice)))
	}
	attrPath := fldPath.Child("attributes")
	for _, k := range sets.List(sets.KeySet(d.Attributes)) {
		errs = append(errs, validateQualifiedName(string(k), attrPath)...)
		errs = append(errs, validateDeviceAttribute(d.Attributes[k], attrPath.Key(truncate(string(k), attributeKeyMaxLength)))...)
	}
	capPath := fldPath.Child("capacity")
	for _, k := range sets.List(sets.KeySet(d.Capacity)) {
		errs = append(errs, validateQualifiedName(string(k), capPath)...)
	}
	errs = append(errs, validateBoundedSet(len(d.Taints), resourcev1.DeviceTaintsMaxLength, fldPath.Child("taints"), func(i int, p *field.Path) field.ErrorList {
		return validateDeviceTaint(d.Taints[i], nil, p)
	}, nil)...)
	errs = append(errs, validateBoundedSet(len(d.ConsumesCounters), resourcev1.ResourceSliceMaxDeviceCounterConsumptionsPerDevice, fldPath.Child("consumesCounters"), func(i int, p *field.Path) field.ErrorList {
		c := d.ConsumesCounters[i]
		return validateCounters(c.CounterSet, "counterSet", len(c.Counters), resourcev1.ResourceSliceMaxCountersPerDeviceCounterConsumption, p, counterKeys(c.Counters))
	}, func(i int) string { return d.ConsumesCounters[i].CounterSet })...)

	const perDeviceMsg = "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec"
	if perDeviceNodeSelection {
		var set []string
		if n := d.NodeName; n != nil {
			if *n != "" {
				set = append(set, "`nodeName`")
				errs = append(errs, validateNodeName(*n, fldPath.Child("nodeName"))...)
			} else {
				errs = append(errs, field.Invalid(fldPath.Child("nodeName"), *n, "must not be empty"))
			}
		}
		if d.NodeSelector != nil {
			set = append(set, "`nodeSelector`")
			errs = append(errs, corevalidation.ValidateNodeSelector(d.NodeSelector, false, fldPath.Child("nodeSelector"))...)
		}
		if d.AllNodes != nil {
			if *d.AllNodes {
				set = append(set, "`allNodes`")
			} else {
				errs = append(errs, field.Invalid(fldPath.Child("allNodes"), *d.AllNodes, "must be either unset or set to true"))
			}
		}
		switch len(set) {
		case 0:
			errs = append(errs, field.Required(fldPath, perDeviceMsg))
		case 1:
		default:
			errs = append(errs, field.Invalid(fldPath, fmt.Sprintf("{%s}", strings.Join(set, ", ")), perDeviceMsg))
		}
	} else if d.NodeName != nil || d.NodeSelector != nil || d.AllNodes != nil {
		errs = append(errs, field.Invalid(fldPath, nil, "`nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec"))
	}
	return append(errs, validateBindingConditions(d.BindingConditions, d.BindingFailureConditions, fldPath)...)
}

// attributeValues counts attribute values, each item of a list one.
func attributeValues(d resourcev1.Device) int {
	n := 0
	for _, a := range d.Attributes {
		if l := len(a.BoolValues) + len(a.IntValues) + len(a.StringValues) + len(a.VersionValues); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// semver is semver.org 2.0.0, as upstream checks version attributes.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
	`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)

func validateDeviceAttribute(a resourcev1.DeviceAttribute, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	str := func(v string, p *field.Path) {
		if len(v) > resourcev1.DeviceAttributeMaxValueLength {
			errs = append(errs, field.TooLong(p, "", resourcev1.DeviceAttributeMaxValueLength))
		}
	}
	version := func(v string, p *field.Path) {
		if !semver.MatchString(v) {
			errs = append(errs, field.Invalid(p, v, "must be a string compatible with semver.org spec 2.0.0"))
		}
		str(v, p)
	}
	nonEmpty := func(isSet bool, l int, name string, value any) {
		if !isSet {
			return
		}
		n++
		if l == 0 {
			errs = append(errs, field.Invalid(fldPath.Child(name), value, "must not be empty if specified"))
		}
	}
	if a.BoolValue != nil {
		n++
	}
	if a.IntValue != nil {
		n++
	}
	if a.StringValue != nil {
		n++
		str(*a.StringValue, fldPath.Child("string"))
	}
	if a.VersionValue != nil {
		n++
		version(*a.VersionValue, fldPath.Child("version"))
	}
	nonEmpty(a.BoolValues != nil, len(a.BoolValues), "bools", a.BoolValues)
	nonEmpty(a.IntValues != nil, len(a.IntValues), "ints", a.IntValues)
	nonEmpty(a.StringValues != nil, len(a.StringValues), "strings", a.StringValues)
	for i, v := range a.StringValues {
		str(v, fldPath.Child("strings").Index(i))
	}
	nonEmpty(a.VersionValues != nil, len(a.VersionValues), "versions", a.VersionValues)
	for i, v := range a.VersionValues {
		version(v, fldPath.Child("versions").Index(i))
	}
	switch n {
	case 0:
		errs = append(errs, field.Invalid(fldPath, "", "exactly one value must be specified"))
	case 1:
	default:
		errs = append(errs, field.Invalid(fldPath, a, "exactly one value must be specified"))
	}
	return errs
}

// validateQualifiedName accepts "<id>" or "<domain>/<id>": a C identifier
// of at most 32 characters, optionally behind a driver-name domain.
func validateQualifiedName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	domain, id, qualified := strings.Cut(name, "/")
	if !qualified {
		return validateCIdentifier(name, fldPath)
	}
	if domain == "" {
		errs = append(errs, field.Invalid(fldPath, "", "the domain must not be empty"))
	} else {
		errs = append(errs, validateDriverName(domain, fldPath)...)
	}
	if id == "" {
		errs = append(errs, field.Invalid(fldPath, "", "the name must not be empty"))
	} else {
		errs = append(errs, validateCIdentifier(id, fldPath)...)
	}
	return errs
}

func validateCIdentifier(id string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(id) > resourcev1.DeviceMaxIDLength {
		errs = append(errs, field.TooLong(fldPath, "", resourcev1.DeviceMaxIDLength))
	}
	for _, msg := range content.IsCIdentifier(id) {
		errs = append(errs, field.Invalid(fldPath, id, msg))
	}
	return errs
}

// validateDeviceTaint checks a taint's key, value and effect; the effect
// only when it is new or changed from old's (nil on create), so that stored
// objects with an effect a later release added stay writable.
func validateDeviceTaint(t resourcev1.DeviceTaint, old *resourcev1.DeviceTaint, fldPath *field.Path) field.ErrorList {
	errs := validateLabelName(t.Key, fldPath.Child("key"))
	if t.Value != "" {
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, msg))
		}
	}
	if old != nil && old.Effect == t.Effect {
		return errs
	}
	switch {
	case t.Effect == "":
		errs = append(errs, field.Required(fldPath.Child("effect"), ""))
	case !sets.New(tolerationEffects...).Has(t.Effect):
		errs = append(errs, field.NotSupported(fldPath.Child("effect"), t.Effect, sets.List(sets.New(tolerationEffects...))))
	}
	return errs
}

func validateBindingConditions(conditions, failures []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	condPath, failPath := fldPath.Child("bindingConditions"), fldPath.Child("bindingFailureConditions")
	labelNames := func(list []string, max int, p *field.Path) {
		if len(list) > max {
			errs = append(errs, field.TooMany(p, len(list), max))
			return
		}
		for i, c := range list {
			errs = append(errs, validateLabelName(c, p.Index(i))...)
		}
	}
	labelNames(conditions, resourcev1.BindingConditionsMaxSize, condPath)
	labelNames(failures, resourcev1.BindingFailureConditionsMaxSize, failPath)
	seen := sets.New[string]()
	for i, c := range conditions {
		if seen.Has(c) {
			errs = append(errs, field.Duplicate(condPath.Index(i), c))
		}
		seen.Insert(c)
	}
	seenFail := sets.New[string]()
	for i, c := range failures {
		if seenFail.Has(c) {
			errs = append(errs, field.Duplicate(failPath.Index(i), c))
		}
		seenFail.Insert(c)
		if seen.Has(c) {
			errs = append(errs, field.Invalid(failPath.Index(i), c, "bindingFailureConditions must not overlap with bindingConditions"))
		}
	}
	if len(conditions) == 0 && len(failures) > 0 {
		errs = append(errs, field.Invalid(condPath, conditions, "bindingConditions are required to use bindingFailureConditions"))
	}
	if len(failures) == 0 && len(conditions) > 0 {
		errs = append(errs, field.Invalid(failPath, failures, "bindingFailureConditions are required to use bindingConditions"))
	}
	return errs
}

// truncate shortens a long key in the middle for field paths, as upstream.
func truncate(s string, max int) string {
	if max < 16 {
		max = 16
	}
	if len(s) <= max {
		return s
	}
	rest := max - 3
	return s[:(rest+1)/2] + "..." + s[len(s)-rest/2:]
}
