package core

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
	"github.com/skiff-dev/skiff/internal/podqos"
)

// updatablePodSpecFields is upstream's list, quoted in the error of a pod
// update that changes anything else.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

const notToNonTerminatedMsg = "may not be transitioned to non-terminated state"

// ValidatePod validates a new Pod: metadata, annotations, spec (as a pod's),
// no ephemeral containers (they come through pods/ephemeralcontainers) and
// no node while scheduling gates remain.
func ValidatePod(pod *corev1.Pod) field.ErrorList {
	errs := validatePodMetadataAndSpec(pod, &podOptions{resourceIsPod: true})
	specPath := field.NewPath("spec")
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	errs = append(errs, validateSeccompAnnotationsMatchFields(pod.Annotations, &pod.Spec, specPath)...)
	return append(errs, validateAppArmorAnnotationsMatchFields(pod.Annotations, &pod.Spec, specPath)...)
}

// podUpdateOptions relaxes the rules the old pod already broke, so that it
// stays updatable.
func podUpdateOptions(old *corev1.Pod) *podOptions {
	opts := &podOptions{resourceIsPod: true}
	spec := &old.Spec
	opts.allowInvalidLabelValueInSelector = len(validateAffinity(spec.Affinity, &podOptions{allowInvalidLabelValueInRequiredNodeAffinity: true}, field.NewPath(""))) > 0
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		opts.allowInvalidLabelValueInRequiredNodeAffinity = len(ValidateNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, false, field.NewPath(""))) > 0
	}
	for _, c := range spec.TopologySpreadConstraints {
		if len(ValidateLabelSelector(c.LabelSelector, field.NewPath(""))) > 0 {
			opts.allowInvalidTopologySpreadSelector = true
		}
		if len(ValidateMatchLabelKeysAndMismatchLabelKeys(field.NewPath(""), c.MatchLabelKeys, nil, c.LabelSelector)) > 0 {
			opts.oldPodViolatesMatchLabelKeys = true
		}
	}
	for _, v := range spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if t := s.ServiceAccountToken; t != nil && t.Path != "" && len(ValidateLocalNonReservedPath(t.Path, field.NewPath(""))) > 0 {
				opts.allowNonLocalProjectedTokenPath = true
			}
		}
	}
	if spec.SecurityContext != nil {
		for _, s := range spec.SecurityContext.Sysctls {
			if hostSysctlError(s.Name, spec, nil) != nil {
				opts.allowNamespacedSysctlsForHostNetAndHostIPC = true
			}
		}
		opts.allowAnySELinuxChangePolicy = spec.SecurityContext.SELinuxChangePolicy != nil
	}
	for _, c := range spec.InitContainers {
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		for _, rp := range c.ResizePolicy {
			if !sidecar && rp.RestartPolicy == corev1.RestartContainer {
				opts.allowRestartContainerForPlainInit = true
			}
		}
	}
	if spec.HostUsers != nil && !*spec.HostUsers {
		visitContainers(spec, field.NewPath("spec"), func(c *corev1.Container, _ *field.Path) {
			opts.allowUserNamespacesWithVolumeDevices = opts.allowUserNamespacesWithVolumeDevices || len(c.VolumeDevices) > 0
		})
	}
	if v, ok := old.Annotations[corev1.PodDeletionCost]; ok && !isValidDeletionCost(v) {
		opts.allowInvalidPodDeletionCost = true
	}
	return opts
}

func validatePodMetadataAndSpec(pod *corev1.Pod, opts *podOptions) field.ErrorList {
	metaPath, specPath := field.NewPath("metadata"), field.NewPath("spec")
	errs := metavalidation.ValidateObjectMeta(&pod.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validatePodAnnotations(pod.Annotations, &pod.Spec, opts, metaPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, opts, specPath)...)
	// Rules for pods only, kept out of templates for compatibility.
	if pod.Spec.ServiceAccountName == "" {
		for i, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for j, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					errs = append(errs, field.Forbidden(specPath.Child("volumes").Index(i).Child("projected", "sources").Index(j).Child("serviceAccountToken"), "must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for i, c := range pod.Spec.Containers {
		errs = append(errs, validateImageWhitespace(c.Image, specPath.Child("containers").Index(i))...)
	}
	for i, c := range pod.Spec.InitContainers {
		errs = append(errs, validateImageWhitespace(c.Image, specPath.Child("initContainers").Index(i))...)
	}
	return errs
}

// validatePodAnnotationUpdates forbids adding, changing or removing the
// mirror pod and AppArmor annotations, then validates the new annotations.
func validatePodAnnotationUpdates(pod, old *corev1.Pod, opts *podOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, oldValue := range old.Annotations {
		if v, ok := pod.Annotations[k]; ok && v == oldValue {
			continue
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			errs = append(errs, field.Forbidden(p.Key(k), "may not remove or update AppArmor annotations"))
		}
		if k == corev1.MirrorPodAnnotationKey {
			errs = append(errs, field.Forbidden(p.Key(k), "may not remove or update mirror pod annotation"))
		}
	}
	for k := range pod.Annotations {
		if _, ok := old.Annotations[k]; ok {
			continue
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			errs = append(errs, field.Forbidden(p.Key(k), "may not add AppArmor annotations"))
		}
		if k == corev1.MirrorPodAnnotationKey {
			errs = append(errs, field.Forbidden(p.Key(k), "may not add mirror pod annotation"))
		}
	}
	return append(errs, validatePodAnnotations(pod.Annotations, &pod.Spec, opts, p)...)
}

// ValidatePodUpdate validates an update of a Pod through the main resource.
// Only images, activeDeadlineSeconds (set, or lowered), tolerations
// (additions, and tolerationSeconds), the removal of scheduling gates, and
// for gated pods additions to node selector and affinity may change;
// anything else fails with upstream's Forbidden error and its diff.
func ValidatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	opts := podUpdateOptions(old)
	metaPath, specPath := field.NewPath("metadata"), field.NewPath("spec")
	errs := metavalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodMetadataAndSpec(pod, opts)...)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, opts, metaPath.Child("annotations"))...)

	for _, list := range []struct {
		name     string
		new, old []corev1.Container
	}{{"containers", pod.Spec.Containers, old.Spec.Containers}, {"initContainers", pod.Spec.InitContainers, old.Spec.InitContainers}} {
		p := specPath.Child(list.name)
		if len(list.new) != len(list.old) {
			return append(errs, field.Forbidden(p, "pod updates may not add or remove containers"))
		}
		for i, c := range list.new {
			if c.Image == "" {
				errs = append(errs, field.Required(p.Index(i).Child("image"), ""))
			}
			errs = append(errs, validateImageWhitespace(c.Image, p.Index(i))...)
		}
	}

	deadlinePath := specPath.Child("activeDeadlineSeconds")
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		if *d < 0 || *d > math.MaxInt32 {
			return append(errs, field.Invalid(deadlinePath, *d, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if o := old.Spec.ActiveDeadlineSeconds; o != nil && *o < *d {
			return append(errs, field.Invalid(deadlinePath, *d, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(deadlinePath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)

	if equality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	// Mask what may change with the old values, then compare.
	masked := pod.Spec.DeepCopy()
	for i := range masked.Containers {
		masked.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range masked.InitContainers {
		masked.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	masked.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	masked.SchedulingGates = old.Spec.SchedulingGates
	masked.Tolerations = old.Spec.Tolerations
	if g := old.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 && masked.TerminationGracePeriodSeconds != nil && *masked.TerminationGracePeriodSeconds == 1 {
		masked.TerminationGracePeriodSeconds = g
	}
	if len(old.Spec.SchedulingGates) > 0 {
		errs = append(errs, maskGatedPodScheduling(masked, &old.Spec, specPath)...)
	}
	if !equality.Semantic.DeepEqual(*masked, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatablePodSpecFields, ","), diff.Diff(old.Spec, *masked))))
	}
	return errs
}

// maskGatedPodScheduling lets a gated pod add to its node selector and
// required node affinity: it reports other changes and masks the fields
// with the old values.
func maskGatedPodScheduling(masked, old *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !equality.Semantic.DeepEqual(masked.NodeSelector, old.NodeSelector) {
		p := specPath.Child("nodeSelector")
		for k, v := range old.NodeSelector {
			if nv, ok := masked.NodeSelector[k]; !ok || nv != v {
				errs = append(errs, field.Invalid(p, masked.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
				break
			}
		}
		masked.NodeSelector = old.NodeSelector
	}
	var oldNA, newNA *corev1.NodeAffinity
	if old.Affinity != nil {
		oldNA = old.Affinity.NodeAffinity
	}
	if masked.Affinity != nil {
		newNA = masked.Affinity.NodeAffinity
	}
	if equality.Semantic.DeepEqual(oldNA, newNA) {
		return errs
	}
	errs = append(errs, validateNodeAffinityMutation(newNA, oldNA, specPath.Child("affinity", "nodeAffinity"))...)
	switch {
	case masked.Affinity == nil:
		if oldNA != nil {
			masked.Affinity = &corev1.Affinity{NodeAffinity: oldNA}
		}
	case old.Affinity == nil && masked.Affinity.PodAffinity == nil && masked.Affinity.PodAntiAffinity == nil:
		masked.Affinity = nil
	default:
		masked.Affinity.NodeAffinity = oldNA
	}
	return errs
}

// validateNodeAffinityMutation allows a gated pod's required node affinity
// only to gain terms' expressions; preferred terms may change freely.
func validateNodeAffinityMutation(newNA, oldNA *corev1.NodeAffinity, p *field.Path) field.ErrorList {
	var oldTerms, newTerms []corev1.NodeSelectorTerm
	if oldNA != nil && oldNA.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		oldTerms = oldNA.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	}
	if newNA != nil && newNA.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		newTerms = newNA.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	}
	if len(oldTerms) == 0 {
		return nil
	}
	rp := p.Child("requiredDuringSchedulingIgnoredDuringExecution")
	if len(oldTerms) != len(newTerms) {
		return field.ErrorList{field.Invalid(rp.Child("nodeSelectorTerms"), newTerms, "no additions/deletions to non-empty NodeSelectorTerms list are allowed")}
	}
	var errs field.ErrorList
	for i := range oldTerms {
		if !termOnlyAdds(newTerms[i], oldTerms[i]) {
			errs = append(errs, field.Invalid(rp.Child("nodeSelectorTerms").Index(i), newTerms[i], "only additions are allowed (no mutations or deletions)"))
		}
	}
	return errs
}

func termOnlyAdds(newTerm, oldTerm corev1.NodeSelectorTerm) bool {
	// An empty term matches everything; it may not gain requirements.
	if len(oldTerm.MatchExpressions) == 0 && len(oldTerm.MatchFields) == 0 {
		return len(newTerm.MatchExpressions) == 0 && len(newTerm.MatchFields) == 0
	}
	prefix := func(n, o []corev1.NodeSelectorRequirement) bool {
		return len(n) >= len(o) && equality.Semantic.DeepEqual(n[:len(o)], o)
	}
	return prefix(newTerm.MatchExpressions, oldTerm.MatchExpressions) && prefix(newTerm.MatchFields, oldTerm.MatchFields)
}

func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, p *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			cmp := o
			cmp.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(cmp, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return ValidateTolerations(tolerations, p)
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, p *field.Path) field.ErrorList {
	had := sets.New[string]()
	for _, g := range old {
		had.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !had.Has(g.Name) {
			errs = append(errs, field.Forbidden(p.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// ValidatePodStatusUpdate validates an update through pods/status: metadata
// and annotations, condition types, the node name unchanged, QoS class
// fixed, no terminated container revived against its restart policy, claim
// statuses, IPs and users.
func ValidatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	opts := podUpdateOptions(old)
	metaPath, statusPath := field.NewPath("metadata"), field.NewPath("status")
	errs := metavalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, opts, metaPath.Child("annotations"))...)
	systemConditions := sets.New(corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized)
	for i, c := range pod.Status.Conditions {
		cp := statusPath.Child("conditions").Index(i)
		if c.ObservedGeneration < 0 {
			errs = append(errs, field.Invalid(cp.Child("observedGeneration"), c.ObservedGeneration, "must be a non-negative integer"))
		}
		if !systemConditions.Has(c.Type) {
			errs = append(errs, ValidateQualifiedName(string(c.Type), cp.Child("Type"))...)
		}
	}
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, validateNameAt(n, statusPath.Child("nominatedNodeName"))...)
		if old.Spec.NodeName != "" {
			errs = append(errs, field.Forbidden(statusPath.Child("nominatedNodeName"), "may not be set on pods that are already bound to a node"))
		}
	}
	if pod.Status.ObservedGeneration < 0 {
		errs = append(errs, field.Invalid(statusPath.Child("observedGeneration"), pod.Status.ObservedGeneration, "must be a non-negative integer"))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pod.Status.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	errs = append(errs, validateStateTransitions(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, old.Spec.Containers, &old.Spec, statusPath.Child("containerStatuses"))...)
	errs = append(errs, validateStateTransitions(pod.Status.InitContainerStatuses, old.Status.InitContainerStatuses, old.Spec.InitContainers, &old.Spec, statusPath.Child("initContainerStatuses"))...)
	errs = append(errs, validateStateTransitions(pod.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses, nil, nil, statusPath.Child("ephemeralContainerStatuses"))...)
	errs = append(errs, validateResourceClaimStatuses(pod, statusPath.Child("resourceClaimStatuses"))...)
	errs = append(errs, validatePodIPList(podIPStrings(pod.Status.PodIPs), podIPStrings(old.Status.PodIPs), statusPath.Child("podIPs"), pod.Status.PodIPs)...)
	if len(pod.Status.HostIPs) > 0 {
		hostIPs := hostIPStrings(pod.Status.HostIPs)
		if pod.Status.HostIP != hostIPs[0] {
			errs = append(errs, field.Invalid(statusPath.Child("hostIPs").Index(0).Child("ip"), hostIPs[0], "must be equal to `hostIP`"))
		}
		errs = append(errs, validatePodIPList(hostIPs, hostIPStrings(old.Status.HostIPs), statusPath.Child("hostIPs"), pod.Status.HostIPs)...)
	}
	for _, list := range []struct {
		name       string
		statuses   []corev1.ContainerStatus
		containers []corev1.Container
	}{
		{"containerStatuses", pod.Status.ContainerStatuses, pod.Spec.Containers},
		{"initContainerStatuses", pod.Status.InitContainerStatuses, pod.Spec.InitContainers},
		{"ephemeralContainerStatuses", pod.Status.EphemeralContainerStatuses, nil},
	} {
		p := statusPath.Child(list.name)
		errs = append(errs, validateContainerStatusUsers(list.statuses, pod.Spec.OS, p)...)
		if list.name == "ephemeralContainerStatuses" {
			for i, s := range list.statuses {
				if len(s.AllocatedResourcesStatus) > 0 {
					errs = append(errs, field.Forbidden(p.Index(i).Child("allocatedResourcesStatus"), "must not be specified in container status"))
				}
			}
		} else {
			errs = append(errs, validateAllocatedResourcesStatus(list.statuses, list.containers, p)...)
		}
	}
	return errs
}

// validateStateTransitions forbids a terminated container to become
// non-terminated unless its restart rules or policy (or the pod's) would
// restart it. With spec nil (ephemeral containers) no restart is allowed.
func validateStateTransitions(statuses, old []corev1.ContainerStatus, containers []corev1.Container, spec *corev1.PodSpec, p *field.Path) field.ErrorList {
	if spec != nil && anyRestartsAllContainers(spec) {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		if o.State.Terminated == nil {
			continue
		}
		for _, s := range statuses {
			if s.Name != o.Name || s.State.Terminated != nil {
				continue
			}
			allowed := false
			if spec != nil {
				for _, c := range containers {
					if c.Name == o.Name {
						allowed = containerWouldRestart(c, spec.RestartPolicy, o.State.Terminated.ExitCode)
						break
					}
				}
			}
			if !allowed {
				errs = append(errs, field.Forbidden(p.Index(i).Child("state"), notToNonTerminatedMsg))
			}
			if spec != nil {
				break
			}
		}
	}
	return errs
}

func anyRestartsAllContainers(spec *corev1.PodSpec) bool {
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			for _, r := range c.RestartPolicyRules {
				if r.Action == corev1.ContainerRestartRuleActionRestartAllContainers {
					return true
				}
			}
		}
	}
	return false
}

// containerWouldRestart reports whether the kubelet restarts container c
// after it exits with code: its first matching rule, then its own policy,
// then the pod's.
func containerWouldRestart(c corev1.Container, podPolicy corev1.RestartPolicy, code int32) bool {
	if c.RestartPolicy != nil {
		for _, rule := range c.RestartPolicyRules {
			if rule.ExitCodes == nil {
				continue
			}
			matched := false
			for _, v := range rule.ExitCodes.Values {
				matched = matched || v == code
			}
			op := rule.ExitCodes.Operator
			if (op == corev1.ContainerRestartRuleOnExitCodesOpIn && matched) || (op == corev1.ContainerRestartRuleOnExitCodesOpNotIn && !matched) {
				if rule.Action == corev1.ContainerRestartRuleActionRestart || rule.Action == corev1.ContainerRestartRuleActionRestartAllContainers {
					return true
				}
				break
			}
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return code != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch podPolicy {
	case corev1.RestartPolicyOnFailure:
		return code != 0
	case corev1.RestartPolicyNever:
		return false
	}
	return true
}

func validateResourceClaimStatuses(pod *corev1.Pod, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	claims := sets.New[string]()
	for _, c := range pod.Spec.ResourceClaims {
		claims.Insert(c.Name)
	}
	seen := sets.New[string]()
	for i, s := range pod.Status.ResourceClaimStatuses {
		ip := p.Index(i)
		if !claims.Has(s.Name) {
			errs = append(errs, field.Invalid(ip.Child("name"), s.Name, "must match the name of an entry in `spec.resourceClaims`"))
		}
		if seen.Has(s.Name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), s.Name))
		} else {
			seen.Insert(s.Name)
		}
		if s.ResourceClaimName != nil {
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*s.ResourceClaimName, false) {
				errs = append(errs, field.Invalid(ip.Child("resourceClaimName"), s.ResourceClaimName, msg))
			}
		}
	}
	return errs
}

func podIPStrings(ips []corev1.PodIP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return out
}

func hostIPStrings(ips []corev1.HostIP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return out
}

// validatePodIPList validates pod or host IPs: each valid (old ones are
// kept), and at most one per family.
func validatePodIPList(ips, old []string, p *field.Path, value any) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, podLegacyIP(p.Index(i), ip, old)...)
	}
	if len(ips) > 1 {
		if len(ips) > 2 || !isDualStack(ips[0], ips[1]) {
			errs = append(errs, field.Invalid(p, value, "may specify no more than one IP for each IP family"))
		}
	}
	return errs
}

func isDualStack(a, b string) bool {
	pa, pb := validation.IsValidIP(nil, a), validation.IsValidIP(nil, b)
	if len(pa) > 0 || len(pb) > 0 {
		return false
	}
	return strings.Contains(a, ":") != strings.Contains(b, ":")
}

func validateContainerStatusUsers(statuses []corev1.ContainerStatus, os *corev1.PodOS, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	osName := corev1.Linux
	if os != nil {
		osName = os.Name
	}
	for i, s := range statuses {
		if s.User == nil {
			continue
		}
		up := p.Index(i).Child("user", "linux")
		switch osName {
		case corev1.Windows:
			if s.User.Linux != nil {
				errs = append(errs, field.Forbidden(up, "cannot be set for a windows pod"))
			}
		case corev1.Linux:
			if l := s.User.Linux; l != nil {
				for _, msg := range validation.IsValidUserID(l.UID) {
					errs = append(errs, field.Invalid(up.Child("uid"), l.UID, msg))
				}
				for _, msg := range validation.IsValidGroupID(l.GID) {
					errs = append(errs, field.Invalid(up.Child("gid"), l.GID, msg))
				}
				for g, gid := range l.SupplementalGroups {
					for _, msg := range validation.IsValidGroupID(gid) {
						errs = append(errs, field.Invalid(up.Child("supplementalGroups").Index(g), gid, msg))
					}
				}
			}
		}
	}
	return errs
}

var supportedResourceHealth = sets.New(corev1.ResourceHealthStatusHealthy, corev1.ResourceHealthStatusUnhealthy, corev1.ResourceHealthStatusUnknown)

func validateAllocatedResourcesStatus(statuses []corev1.ContainerStatus, containers []corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range statuses {
		for j, ar := range s.AllocatedResourcesStatus {
			ap := p.Index(i).Child("allocatedResourcesStatus").Index(j)
			var ctr *corev1.Container
			for k := range containers {
				if containers[k].Name == s.Name {
					ctr = &containers[k]
					break
				}
			}
			// A status of an unknown container is ignored, as upstream does.
			if ctr != nil {
				found, msg := false, "must match one of the container's resource requests"
				if strings.HasPrefix(string(ar.Name), "claim:") {
					msg = "must match one of the container's resource claims in a format 'claim:<claimName>/<request>' or 'claim:<claimName>' if request is empty"
					for _, c := range ctr.Resources.Claims {
						name := "claim:" + c.Name
						if c.Request != "" {
							name += "/" + c.Request
						}
						found = found || name == string(ar.Name)
					}
				} else {
					_, found = ctr.Resources.Requests[ar.Name]
				}
				if !found {
					errs = append(errs, field.Invalid(ap.Child("name"), ar.Name, msg))
				}
			}
			ids := sets.New[corev1.ResourceID]()
			for k, r := range ar.Resources {
				rp := ap.Child("resources").Index(k)
				if !supportedResourceHealth.Has(r.Health) {
					errs = append(errs, field.NotSupported(rp.Child("health"), r.Health, sets.List(supportedResourceHealth)))
				}
				if r.Message != nil {
					if *r.Message == "" {
						errs = append(errs, field.Required(rp.Child("message"), "must be non-empty if specified"))
					} else if len(*r.Message) > corev1.ResourceHealthMessageMaxLength {
						errs = append(errs, field.TooLong(rp.Child("message"), *r.Message, corev1.ResourceHealthMessageMaxLength))
					}
				}
				if ids.Has(r.ResourceID) {
					errs = append(errs, field.Duplicate(rp.Child("resourceID"), r.ResourceID))
				} else {
					ids.Insert(r.ResourceID)
				}
			}
		}
	}
	return errs
}

// ValidatePodEphemeralContainersUpdate validates an update through
// pods/ephemeralcontainers: the new pod valid, no static pod, and existing
// ephemeral containers neither removed nor changed.
func ValidatePodEphemeralContainersUpdate(pod, old *corev1.Pod) field.ErrorList {
	opts := podUpdateOptions(old)
	metaPath := field.NewPath("metadata")
	errs := metavalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodMetadataAndSpec(pod, opts)...)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, opts, metaPath.Child("annotations"))...)
	if _, mirror := old.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}
	byName := make(map[string]*corev1.EphemeralContainer, len(pod.Spec.EphemeralContainers))
	for i := range pod.Spec.EphemeralContainers {
		byName[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
	}
	p := field.NewPath("spec", "ephemeralContainers")
	for _, o := range old.Spec.EphemeralContainers {
		n, ok := byName[o.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", o.Name)))
		case !equality.Semantic.DeepEqual(o, *n):
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", o.Name, diff.Diff(o, *n))))
		}
	}
	return errs
}

// ValidatePodResize validates an update through pods/resize: only the cpu
// and memory of containers (regular, sidecar and init) and of pod-level
// resources may change, without removing any, without changing the QoS
// class, and not for static or Windows pods.
func ValidatePodResize(pod, old *corev1.Pod) field.ErrorList {
	opts := podUpdateOptions(old)
	errs := metavalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodMetadataAndSpec(pod, opts)...)
	if _, mirror := old.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods cannot be resized")}
	}
	if old.Spec.OS != nil && old.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "windows pods cannot be resized")}
	}
	specPath := field.NewPath("spec")
	oldQoS := old.Status.QOSClass
	if oldQoS == "" {
		oldQoS = podqos.Compute(old)
	}
	if oldQoS != podqos.Compute(pod) {
		errs = append(errs, field.Invalid(specPath, pod.Status.QOSClass, "Pod QOS Class may not change as a result of resizing"))
	}
	if !nodeSupportsResize(old) {
		errs = append(errs, field.Forbidden(specPath, "Pod running on node without support for resize"))
	}
	masked := pod.Spec.DeepCopy()
	hasPodLevel := func(p *corev1.Pod) bool {
		return p.Spec.Resources != nil && len(p.Spec.Resources.Requests)+len(p.Spec.Resources.Limits) > 0
	}
	if hasPodLevel(old) || hasPodLevel(pod) {
		errs = append(errs, validatePodLevelResize(pod, old, masked, specPath)...)
	}
	if len(old.Status.NodeAllocatableResourceClaimStatuses) > 0 {
		errs = append(errs, field.Forbidden(specPath, "pods with node allocatable resource claims cannot be resized"))
	}
	orderErrs := validateResizeOrdering(pod, old, specPath)
	if len(orderErrs) > 0 {
		return append(errs, orderErrs...)
	}
	// Init containers may be resized too (beta and on).
	for i := range old.Spec.InitContainers {
		errs = append(errs, validateContainerResize(&pod.Spec.InitContainers[i].Resources, &old.Spec.InitContainers[i].Resources, specPath.Child("initContainers").Index(i).Child("resources"))...)
	}
	for i := range old.Spec.Containers {
		errs = append(errs, validateContainerResize(&pod.Spec.Containers[i].Resources, &old.Spec.Containers[i].Resources, specPath.Child("containers").Index(i).Child("resources"))...)
	}
	for i := range masked.Containers {
		maskCPUMemory(&masked.Containers[i], &old.Spec.Containers[i])
		if !equality.Semantic.DeepEqual(masked.Containers[i], old.Spec.Containers[i]) {
			errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
		}
	}
	for i := range masked.InitContainers {
		c, o := &masked.InitContainers[i], &old.Spec.InitContainers[i]
		modified := !equality.Semantic.DeepEqual(*c, *o)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		maskCPUMemory(c, o)
		if !equality.Semantic.DeepEqual(*c, *o) {
			errs = append(errs, field.Forbidden(specPath.Child("initContainers").Index(i), "only cpu and memory resources for init or sidecar containers are mutable"))
		}
		if modified && !sidecar {
			for _, rp := range c.ResizePolicy {
				if rp.RestartPolicy == corev1.RestartContainer {
					errs = append(errs, field.Forbidden(specPath.Child("initContainers").Index(i), "non-sidecar init containers with a resize policy of RestartContainer cannot be resized"))
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if !equality.Semantic.DeepEqual(*masked, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
	}
	return errs
}

func validateResizeOrdering(pod, old *corev1.Pod, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name     string
		new, old []corev1.Container
	}{{"containers", pod.Spec.Containers, old.Spec.Containers}, {"initContainers", pod.Spec.InitContainers, old.Spec.InitContainers}} {
		p := specPath.Child(list.name)
		if len(list.new) != len(list.old) {
			errs = append(errs, field.Forbidden(p, list.name+" may not be added or removed on resize"))
			continue
		}
		for i := range list.old {
			if list.new[i].Name != list.old[i].Name {
				errs = append(errs, field.Forbidden(p.Index(i).Child("name"), list.name+" may not be renamed or reordered on resize"))
			}
		}
	}
	return errs
}

func validatePodLevelResize(pod, old *corev1.Pod, masked *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rp := specPath.Child("resources")
	if old.Spec.Resources != nil && pod.Spec.Resources == nil {
		return field.ErrorList{field.Forbidden(rp, "pod-level resources cannot be removed")}
	}
	if old.Spec.Resources != nil {
		if resourcesRemoved(pod.Spec.Resources.Requests, old.Spec.Resources.Requests) {
			errs = append(errs, field.Forbidden(rp.Child("requests"), "pod-level resource requests cannot be removed"))
		}
		if resourcesRemoved(pod.Spec.Resources.Limits, old.Spec.Resources.Limits) {
			errs = append(errs, field.Forbidden(rp.Child("limits"), "pod-level resource limits cannot be removed"))
		}
	}
	if r := masked.Resources; r != nil {
		var oldReq, oldLim corev1.ResourceList
		if old.Spec.Resources != nil {
			oldReq, oldLim = old.Spec.Resources.Requests, old.Spec.Resources.Limits
		}
		r.Requests = withOldCPUMemory(r.Requests, oldReq)
		r.Limits = withOldCPUMemory(r.Limits, oldLim)
		if old.Spec.Resources == nil && len(r.Requests) == 0 && len(r.Limits) == 0 && len(r.Claims) == 0 {
			masked.Resources = nil
		}
	}
	if !equality.Semantic.DeepEqual(masked.Resources, old.Spec.Resources) {
		errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable at pod-level"))
	}
	return errs
}

// withOldCPUMemory is list with its cpu and memory replaced by old's.
func withOldCPUMemory(list, old corev1.ResourceList) corev1.ResourceList {
	if list == nil && old == nil {
		return nil
	}
	out := list.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		delete(out, name)
		if q, ok := old[name]; ok {
			out[name] = q
		}
	}
	return out
}

func maskCPUMemory(c, old *corev1.Container) {
	c.Resources = corev1.ResourceRequirements{
		Limits:   withOldCPUMemory(c.Resources.Limits, old.Resources.Limits),
		Requests: withOldCPUMemory(c.Resources.Requests, old.Resources.Requests),
	}
}

func validateContainerResize(r, old *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if resourcesRemoved(r.Requests, old.Requests) {
		errs = append(errs, field.Forbidden(p.Child("requests"), "resource requests cannot be removed"))
	}
	if resourcesRemoved(r.Limits, old.Limits) {
		errs = append(errs, field.Forbidden(p.Child("limits"), "resource limits cannot be removed"))
	}
	return errs
}

func resourcesRemoved(list, old corev1.ResourceList) bool {
	for name := range old {
		if _, ok := list[name]; !ok {
			return true
		}
	}
	return false
}

// nodeSupportsResize tells from the first running container's status
// whether the pod's node can resize; with none running, it assumes so.
func nodeSupportsResize(pod *corev1.Pod) bool {
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Running != nil {
			return s.Resources != nil
		}
	}
	return true
}

// ValidatePodBinding validates a Binding posted to pods/binding: a target
// node (its kind Node or empty) with a name.
func ValidatePodBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}
