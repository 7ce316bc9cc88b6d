package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	supportedWhenUnsatisfiable = sets.New(corev1.DoNotSchedule, corev1.ScheduleAnyway)
	supportedNodeInclusion     = sets.New(corev1.NodeInclusionPolicyIgnore, corev1.NodeInclusionPolicyHonor)
	supportedTaintEffects      = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}
)

// ValidateLabelSelector validates a label selector at fldPath, strictly
// (label values must be valid).
func ValidateLabelSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}

// validateLabelSelectorOpts validates a label selector, tolerating invalid
// label values when allowInvalidValues (for objects that had them).
func validateLabelSelectorOpts(sel *metav1.LabelSelector, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidValues}, fldPath)
}

// ValidateTaintEffect validates a taint effect: NoSchedule, PreferNoSchedule
// or NoExecute; empty only when allowEmpty.
func ValidateTaintEffect(effect corev1.TaintEffect, allowEmpty bool, fldPath *field.Path) field.ErrorList {
	if effect == "" && !allowEmpty {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	for _, e := range supportedTaintEffects {
		if effect == e {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath, effect, supportedTaintEffects)}
}

// ValidateTolerations validates tolerations at fldPath. The Lt and Gt
// operators (alpha in 1.37, off) are not supported.
func ValidateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		case corev1.TolerationOpLt, corev1.TolerationOpGt:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator,
				[]corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists, corev1.TolerationOpLt, corev1.TolerationOpGt}))
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		if t.Effect != "" {
			errs = append(errs, ValidateTaintEffect(t.Effect, true, p.Child("effect"))...)
		}
	}
	return errs
}

// ValidateNodeSelectorRequirement validates one match expression of a node
// selector; label values are checked unless allowInvalidValues.
func ValidateNodeSelectorRequirement(r corev1.NodeSelectorRequirement, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(fldPath.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(fldPath.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(fldPath.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	errs = append(errs, metav1validation.ValidateLabelName(r.Key, fldPath.Child("key"))...)
	if !allowInvalidValues {
		for i, v := range r.Values {
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(fldPath.Child("values").Index(i), v, msg))
			}
		}
	}
	return errs
}

// ValidateNodeFieldSelectorRequirement validates one match field of a node
// selector: metadata.name, In or NotIn, one node name.
func ValidateNodeFieldSelectorRequirement(r corev1.NodeSelectorRequirement, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(fldPath.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, field.Invalid(fldPath.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	if r.Key != metav1.ObjectNameField {
		errs = append(errs, field.Invalid(fldPath.Child("key"), r.Key, "not a valid field selector key"))
		return errs
	}
	for i, v := range r.Values {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(v, false) {
			errs = append(errs, field.Invalid(fldPath.Child("values").Index(i), v, msg))
		}
	}
	return errs
}

// ValidateNodeSelectorTerm validates a node selector term's expressions and
// fields.
func ValidateNodeSelectorTerm(term corev1.NodeSelectorTerm, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range term.MatchExpressions {
		errs = append(errs, ValidateNodeSelectorRequirement(r, allowInvalidValues, fldPath.Child("matchExpressions").Index(i))...)
	}
	for i, r := range term.MatchFields {
		errs = append(errs, ValidateNodeFieldSelectorRequirement(r, fldPath.Child("matchFields").Index(i))...)
	}
	return errs
}

// ValidateNodeSelector validates a node selector: at least one term, each
// valid. It serves pod node affinity and PersistentVolume node affinity.
func ValidateNodeSelector(sel *corev1.NodeSelector, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	termsPath := fldPath.Child("nodeSelectorTerms")
	if len(sel.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(termsPath, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range sel.NodeSelectorTerms {
		errs = append(errs, ValidateNodeSelectorTerm(term, allowInvalidValues, termsPath.Index(i))...)
	}
	return errs
}

// ValidatePreferredSchedulingTerms validates weighted node affinity terms:
// weights 1-100, terms valid (label values not checked, as upstream).
func ValidatePreferredSchedulingTerms(terms []corev1.PreferredSchedulingTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, term := range terms {
		if term.Weight <= 0 || term.Weight > 100 {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("weight"), term.Weight, "must be in the range 1-100"))
		}
		errs = append(errs, ValidateNodeSelectorTerm(term.Preference, true, fldPath.Index(i).Child("preference"))...)
	}
	return errs
}

// ValidateAffinity validates a pod's node, pod and pod anti-affinity.
func ValidateAffinity(a *corev1.Affinity, fldPath *field.Path) field.ErrorList {
	return validateAffinity(a, &podOptions{}, fldPath)
}

func validateAffinity(a *corev1.Affinity, opts *podOptions, fldPath *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		p := fldPath.Child("nodeAffinity")
		if na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			errs = append(errs, ValidateNodeSelector(na.RequiredDuringSchedulingIgnoredDuringExecution, opts.allowInvalidLabelValueInRequiredNodeAffinity, p.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		}
		if len(na.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
			errs = append(errs, ValidatePreferredSchedulingTerms(na.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("preferredDuringSchedulingIgnoredDuringExecution"))...)
		}
	}
	for _, pa := range []struct {
		name      string
		required  []corev1.PodAffinityTerm
		preferred []corev1.WeightedPodAffinityTerm
		set       bool
	}{
		{"podAffinity", podAffinityRequired(a.PodAffinity), podAffinityPreferred(a.PodAffinity), a.PodAffinity != nil},
		{"podAntiAffinity", podAntiAffinityRequired(a.PodAntiAffinity), podAntiAffinityPreferred(a.PodAntiAffinity), a.PodAntiAffinity != nil},
	} {
		if !pa.set {
			continue
		}
		p := fldPath.Child(pa.name)
		for i, term := range pa.required {
			errs = append(errs, validatePodAffinityTerm(term, opts.allowInvalidLabelValueInSelector, p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
		}
		for i, wt := range pa.preferred {
			wp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if wt.Weight <= 0 || wt.Weight > 100 {
				errs = append(errs, field.Invalid(wp.Child("weight"), wt.Weight, "must be in the range 1-100"))
			}
			errs = append(errs, validatePodAffinityTerm(wt.PodAffinityTerm, opts.allowInvalidLabelValueInSelector, wp.Child("podAffinityTerm"))...)
		}
	}
	return errs
}

func podAffinityRequired(a *corev1.PodAffinity) []corev1.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAffinityPreferred(a *corev1.PodAffinity) []corev1.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityRequired(a *corev1.PodAntiAffinity) []corev1.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityPreferred(a *corev1.PodAntiAffinity) []corev1.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func validatePodAffinityTerm(term corev1.PodAffinityTerm, allowInvalidValues bool, p *field.Path) field.ErrorList {
	errs := validateLabelSelectorOpts(term.LabelSelector, allowInvalidValues, p.Child("labelSelector"))
	errs = append(errs, validateLabelSelectorOpts(term.NamespaceSelector, allowInvalidValues, p.Child("namespaceSelector"))...)
	for _, ns := range term.Namespaces {
		// Upstream reports these at "namespace".
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(ns, false) {
			errs = append(errs, field.Invalid(p.Child("namespace"), ns, msg))
		}
	}
	errs = append(errs, ValidateMatchLabelKeysAndMismatchLabelKeys(p, term.MatchLabelKeys, term.MismatchLabelKeys, term.LabelSelector)...)
	if term.TopologyKey == "" {
		errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
	}
	return append(errs, metav1validation.ValidateLabelName(term.TopologyKey, p.Child("topologyKey"))...)
}

// ValidateMatchLabelKeysAndMismatchLabelKeys validates the label keys a pod
// affinity term or topology spread constraint copies from the pod: valid
// label names, only with a selector, and in neither the selector (for
// matchLabelKeys with a key also in matchLabels) nor the other list.
func ValidateMatchLabelKeysAndMismatchLabelKeys(fldPath *field.Path, matchKeys, mismatchKeys []string, sel *metav1.LabelSelector) field.ErrorList {
	errs := validateLabelKeyList(fldPath.Child("matchLabelKeys"), matchKeys, sel)
	errs = append(errs, validateLabelKeyList(fldPath.Child("mismatchLabelKeys"), mismatchKeys, sel)...)
	if sel != nil {
		index := make(map[string]int, len(matchKeys))
		for i, k := range matchKeys {
			index[k] = i
		}
		selectorKeys := sets.New[string]()
		for k := range sel.MatchLabels {
			selectorKeys.Insert(k)
		}
		for _, expr := range sel.MatchExpressions {
			if i, ok := index[expr.Key]; ok && selectorKeys.Has(expr.Key) {
				// Upstream's path here lacks "matchLabelKeys".
				errs = append(errs, field.Invalid(fldPath.Index(i), expr.Key, "exists in both matchLabelKeys and labelSelector"))
			}
			selectorKeys.Insert(expr.Key)
		}
	}
	mismatch := sets.New(mismatchKeys...)
	for i, k := range matchKeys {
		if mismatch.Has(k) {
			errs = append(errs, field.Invalid(fldPath.Child("matchLabelKeys").Index(i), k, "exists in both matchLabelKeys and mismatchLabelKeys"))
		}
	}
	return errs
}

func validateLabelKeyList(p *field.Path, keys []string, sel *metav1.LabelSelector) field.ErrorList {
	if len(keys) == 0 {
		return nil
	}
	if sel == nil {
		return field.ErrorList{field.Forbidden(p, "must not be specified when labelSelector is not set")}
	}
	var errs field.ErrorList
	for i, k := range keys {
		errs = append(errs, metav1validation.ValidateLabelName(k, p.Index(i))...)
	}
	return errs
}

// validateMatchLabelKeysInTopologySpread is the older, stricter rule for
// topology spread matchLabelKeys, kept for pods that were valid under it only.
func validateMatchLabelKeysInTopologySpread(p *field.Path, keys []string, sel *metav1.LabelSelector) field.ErrorList {
	if len(keys) == 0 {
		return nil
	}
	var errs field.ErrorList
	selectorKeys := sets.New[string]()
	if sel != nil {
		for k := range sel.MatchLabels {
			selectorKeys.Insert(k)
		}
		for _, expr := range sel.MatchExpressions {
			selectorKeys.Insert(expr.Key)
		}
	} else {
		errs = append(errs, field.Forbidden(p, "must not be specified when labelSelector is not set"))
	}
	for i, k := range keys {
		errs = append(errs, metav1validation.ValidateLabelName(k, p.Index(i))...)
		if selectorKeys.Has(k) {
			errs = append(errs, field.Invalid(p.Index(i), k, "exists in both matchLabelKeys and labelSelector"))
		}
	}
	return errs
}

// ValidateTopologySpreadConstraints validates a pod's topology spread
// constraints.
func ValidateTopologySpreadConstraints(constraints []corev1.TopologySpreadConstraint, fldPath *field.Path) field.ErrorList {
	return validateTopologySpreadConstraints(constraints, &podOptions{}, fldPath)
}

func validateTopologySpreadConstraints(constraints []corev1.TopologySpreadConstraint, opts *podOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range constraints {
		p := fldPath.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), int64(c.MaxSkew), notPositiveMsg))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		}
		if !supportedWhenUnsatisfiable.Has(c.WhenUnsatisfiable) {
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, sets.List(supportedWhenUnsatisfiable)))
		}
		for _, later := range constraints[i+1:] {
			if later.TopologyKey == c.TopologyKey && later.WhenUnsatisfiable == c.WhenUnsatisfiable {
				errs = append(errs, field.Duplicate(p.Child("{topologyKey, whenUnsatisfiable}"), fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
				break
			}
		}
		if m := c.MinDomains; m != nil {
			if *m <= 0 {
				errs = append(errs, field.Invalid(p.Child("minDomains"), int64(*m), notPositiveMsg))
			}
			if c.WhenUnsatisfiable != corev1.DoNotSchedule {
				errs = append(errs, field.Invalid(p.Child("minDomains"), m, fmt.Sprintf("can only use minDomains if whenUnsatisfiable=%s, not %s", corev1.DoNotSchedule, c.WhenUnsatisfiable)))
			}
		}
		for _, policy := range []struct {
			name string
			v    *corev1.NodeInclusionPolicy
		}{{"nodeAffinityPolicy", c.NodeAffinityPolicy}, {"nodeTaintsPolicy", c.NodeTaintsPolicy}} {
			if policy.v != nil && !supportedNodeInclusion.Has(*policy.v) {
				errs = append(errs, field.NotSupported(p.Child(policy.name), policy.v, sets.List(supportedNodeInclusion)))
			}
		}
		// Selector merging is on: the newer rule applies, unless the old
		// pod broke it and only the older one can be kept.
		if opts.oldPodViolatesMatchLabelKeys {
			errs = append(errs, validateMatchLabelKeysInTopologySpread(p.Child("matchLabelKeys"), c.MatchLabelKeys, c.LabelSelector)...)
		} else {
			errs = append(errs, ValidateMatchLabelKeysAndMismatchLabelKeys(p, c.MatchLabelKeys, nil, c.LabelSelector)...)
		}
		if !opts.allowInvalidTopologySpreadSelector {
			errs = append(errs, ValidateLabelSelector(c.LabelSelector, p.Child("labelSelector"))...)
		}
	}
	return errs
}
