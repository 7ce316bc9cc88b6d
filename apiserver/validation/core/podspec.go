package core

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
	resourcehelper "k8s.io/component-helpers/resource"
)

// AllowPrivileged is the cluster policy on privileged containers (upstream's
// --allow-privileged). Skiff's nodes need privileged pods, so it is on.
var AllowPrivileged = true

// podOptions are the few validation choices that depend on the request:
// whether the spec is a pod's own (not a template's), and the rules an
// update relaxes because the old object already broke them. Every other
// choice is fixed at the defaults of Kubernetes 1.37's feature gates.
type podOptions struct {
	resourceIsPod                                bool
	allowNonLocalProjectedTokenPath              bool
	allowInvalidLabelValueInSelector             bool
	allowInvalidLabelValueInRequiredNodeAffinity bool
	allowInvalidTopologySpreadSelector           bool
	allowNamespacedSysctlsForHostNetAndHostIPC   bool
	allowRestartContainerForPlainInit            bool
	allowUserNamespacesWithVolumeDevices         bool
	allowInvalidPodDeletionCost                  bool
	allowAnySELinuxChangePolicy                  bool
	oldPodViolatesMatchLabelKeys                 bool
}

// Limits on DNS configuration, from libc's resolver.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	sysctlMaxLength       = 253
)

var (
	sysctlPattern = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

	supportedRestartPolicies  = []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	supportedDNSPolicies      = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	supportedPreemption       = []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}
	supportedFSGroupChange    = sets.New(corev1.FSGroupChangeOnRootMismatch, corev1.FSGroupChangeAlways)
	supportedSupplementalPol  = sets.New(corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict)
	supportedSELinuxChanges   = sets.New(corev1.SELinuxChangePolicyRecursive, corev1.SELinuxChangePolicyMountOption)
	supportedOS               = sets.New(corev1.Linux, corev1.Windows)
	supportedSeccompTypes     = []corev1.SeccompProfileType{corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}
	supportedAppArmorTypes    = []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}
	supportedProcMounts       = []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}
	windowsNetBIOSPattern     = regexp.MustCompile(`^[^\\/:\*\?"<>|\.][^\\/:\*\?"<>|]{0,14}$`)
	windowsDNSDomainPattern   = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	windowsBadUserChars       = regexp.MustCompile(`["/\\:;|=,\+\*\?<>@\[\]]`)
	windowsDotsSpacesOnly     = regexp.MustCompile(`^[\. ]+$`)
	controlCharacters         = regexp.MustCompile(`[[:cntrl:]]+`)
	maxGMSACredentialSpecSize = 64 * 1024
)

// ValidateDNS1123Label validates value as an RFC 1123 label at fldPath.
func ValidateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// ValidateDNS1123Subdomain validates value as an RFC 1123 subdomain at
// fldPath.
func ValidateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// ValidateQualifiedName validates value as a qualified name
// ([prefix/]name) at fldPath.
func ValidateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// ValidateNonEmptySelector validates that a map selector selects something.
func ValidateNonEmptySelector(selector map[string]string, fldPath *field.Path) field.ErrorList {
	if len(selector) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

// podLegacyIP validates an IP address of a field that predates strict
// IP validation (strict validation is off in 1.37): IPs of the old
// list stay valid.
func podLegacyIP(fldPath *field.Path, ip string, validOld []string) field.ErrorList {
	return validation.IsValidIPForLegacyField(fldPath, ip, false, validOld)
}

// ValidatePodTemplateSpec validates a pod template inside another object
// at fldPath (for workloads, spec.template): its labels and annotations and
// its spec as a template (no ephemeral containers).
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	return validatePodTemplateSpec(t, &podOptions{}, fldPath)
}

func validatePodTemplateSpec(t *corev1.PodTemplateSpec, opts *podOptions, fldPath *field.Path) field.ErrorList {
	// Upstream reports template labels and annotations without "metadata".
	errs := metav1validation.ValidateLabels(t.Labels, fldPath.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodAnnotations(t.Annotations, &t.Spec, opts, fldPath.Child("annotations"))...)
	specPath := fldPath.Child("spec")
	errs = append(errs, validatePodSpec(&t.Spec, nil, opts, specPath)...)
	errs = append(errs, validateSeccompAnnotationsMatchFields(t.Annotations, &t.Spec, specPath)...)
	errs = append(errs, validateAppArmorAnnotationsMatchFields(t.Annotations, &t.Spec, specPath)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// ValidatePodSpec validates a pod spec at fldPath as part of a template;
// meta, when it is a real pod's metadata, lets ephemeral volume claim names
// be checked (pass nil otherwise).
func ValidatePodSpec(spec *corev1.PodSpec, meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	return validatePodSpec(spec, meta, &podOptions{}, fldPath)
}

func validatePodSpec(spec *corev1.PodSpec, meta *metav1.ObjectMeta, opts *podOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(fldPath.Child("terminationGracePeriodSeconds"), ""))
	}
	hostUsers := spec.HostUsers == nil || *spec.HostUsers

	volumes, verrs := validateVolumes(spec.Volumes, meta, opts, fldPath.Child("volumes"))
	errs = append(errs, verrs...)
	claimNames := sets.New[string]()
	for _, c := range spec.ResourceClaims {
		if c.Name != "" {
			claimNames.Insert(c.Name)
		}
	}
	errs = append(errs, validatePodResourceClaims(meta, spec.ResourceClaims, fldPath.Child("resourceClaims"))...)
	cc := &containerCtx{
		opts: opts, volumes: volumes, podClaimNames: claimNames, gracePeriod: spec.TerminationGracePeriodSeconds,
		restartPolicy: spec.RestartPolicy, os: spec.OS, hostUsers: hostUsers,
	}
	errs = append(errs, validateContainers(spec.Containers, cc, fldPath.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, cc, fldPath.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec.EphemeralContainers, spec.Containers, spec.InitContainers, cc, fldPath.Child("ephemeralContainers"))...)
	errs = append(errs, validatePodLevelResources(spec, claimNames, fldPath)...)
	errs = append(errs, validateHostNetworkPorts(spec, opts, fldPath)...)

	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(fldPath.Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("restartPolicy"), spec.RestartPolicy, supportedRestartPolicies))
	}
	switch spec.DNSPolicy {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
	case "":
		errs = append(errs, field.Required(fldPath.Child("dnsPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("dnsPolicy"), spec.DNSPolicy, supportedDNSPolicies))
	}
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec, opts, fldPath)...)
	for i, s := range spec.ImagePullSecrets {
		if s != (corev1.LocalObjectReference{Name: s.Name}) {
			errs = append(errs, field.Invalid(fldPath.Child("imagePullSecrets").Index(i), s, "only name may be set"))
		}
	}
	errs = append(errs, validateAffinity(spec.Affinity, opts, fldPath.Child("affinity"))...)
	errs = append(errs, validateDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, ValidateQualifiedName(string(g.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	gates := sets.New[string]()
	for i, g := range spec.SchedulingGates {
		p := fldPath.Child("schedulingGates").Index(i)
		errs = append(errs, ValidateQualifiedName(g.Name, p)...)
		if gates.Has(g.Name) {
			errs = append(errs, field.Duplicate(p, g.Name))
		}
		gates.Insert(g.Name)
	}
	errs = append(errs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, opts, fldPath.Child("topologySpreadConstraints"))...)
	errs = append(errs, validateWindowsHostProcess(spec, fldPath)...)
	errs = append(errs, validateHostUsers(spec, opts, fldPath)...)
	errs = append(errs, validateHostnameOverride(spec, fldPath)...)
	if spec.ServiceAccountName != "" {
		for _, msg := range apimachineryvalidation.ValidateServiceAccountName(spec.ServiceAccountName, false) {
			errs = append(errs, field.Invalid(fldPath.Child("serviceAccountName"), spec.ServiceAccountName, msg))
		}
	}
	if spec.NodeName != "" {
		errs = append(errs, validateNameAt(spec.NodeName, fldPath.Child("nodeName"))...)
	}
	if d := spec.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), *d, validation.InclusiveRangeError(1, math.MaxInt32)))
	}
	if spec.Hostname != "" {
		errs = append(errs, ValidateDNS1123Label(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, ValidateDNS1123Label(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	errs = append(errs, ValidateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	for i, alias := range spec.HostAliases {
		p := fldPath.Child("hostAliases").Index(i)
		errs = append(errs, podLegacyIP(p.Child("ip"), alias.IP, nil)...)
		for j, h := range alias.Hostnames {
			errs = append(errs, ValidateDNS1123Subdomain(h, p.Child("hostnames").Index(j))...)
		}
	}
	if spec.PriorityClassName != "" {
		errs = append(errs, validateNameAt(spec.PriorityClassName, fldPath.Child("priorityClassName"))...)
	}
	if spec.RuntimeClassName != nil {
		errs = append(errs, validateNameAt(*spec.RuntimeClassName, fldPath.Child("runtimeClassName"))...)
	}
	if p := spec.PreemptionPolicy; p != nil {
		switch *p {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		case "":
			errs = append(errs, field.Required(fldPath.Child("preemptionPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("preemptionPolicy"), p, supportedPreemption))
		}
	}
	if spec.Overhead != nil {
		errs = append(errs, ValidateContainerResourceRequirements(&corev1.ResourceRequirements{Limits: spec.Overhead}, nil, fldPath.Child("overhead"))...)
	}
	if spec.OS != nil {
		switch {
		case spec.OS.Name == "":
			errs = append(errs, field.Required(fldPath.Child("os", "name"), ""))
		case !supportedOS.Has(spec.OS.Name):
			errs = append(errs, field.NotSupported(fldPath.Child("os"), spec.OS.Name, sets.List(supportedOS)))
		case spec.OS.Name == corev1.Linux:
			errs = append(errs, validateLinuxPod(spec, fldPath)...)
		default:
			errs = append(errs, validateWindowsPod(spec, fldPath)...)
		}
	}
	if g := spec.SchedulingGroup; g != nil {
		p := fldPath.Child("schedulingGroup", "podGroupName")
		if g.PodGroupName == nil {
			errs = append(errs, field.Invalid(p, g.PodGroupName, "must specify one of: `podGroupName`"))
		} else {
			errs = append(errs, validateNameAt(*g.PodGroupName, p)...)
		}
	}
	return append(errs, validateFileKeyRefVolumes(spec, fldPath)...)
}

// visitContainers calls visit with each container of spec and its path, in
// upstream's order: init, regular, ephemeral.
func visitContainers(spec *corev1.PodSpec, specPath *field.Path, visit func(c *corev1.Container, p *field.Path)) {
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i], specPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i], specPath.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		visit((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), specPath.Child("ephemeralContainers").Index(i))
	}
}

func validatePodResourceClaims(meta *metav1.ObjectMeta, claims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range claims {
		if meta != nil {
			if _, mirror := meta.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
				errs = append(errs, field.Forbidden(field.NewPath(""), "static pods do not support resource claims"))
				continue
			}
		}
		p := fldPath.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case seen.Has(c.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			errs = append(errs, ValidateDNS1123Label(c.Name, p.Child("name"))...)
			seen.Insert(c.Name)
		}
		if c.ResourceClaimName != nil && c.ResourceClaimTemplateName != nil {
			errs = append(errs, field.Invalid(p, c, "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"))
		}
		if c.ResourceClaimName == nil && c.ResourceClaimTemplateName == nil {
			errs = append(errs, field.Invalid(p, c, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
		}
		if c.ResourceClaimName != nil {
			errs = append(errs, validateNameAt(*c.ResourceClaimName, p.Child("resourceClaimName"))...)
		}
		if c.ResourceClaimTemplateName != nil {
			errs = append(errs, validateNameAt(*c.ResourceClaimTemplateName, p.Child("resourceClaimTemplateName"))...)
		}
	}
	return errs
}

// validatePodLevelResources validates spec.resources (pod-level resources,
// beta and on): not on Windows, no claims, valid names and quantities, and
// consistent with the containers' own.
func validatePodLevelResources(spec *corev1.PodSpec, claimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	if spec.Resources == nil {
		return nil
	}
	p := fldPath.Child("resources")
	if spec.OS != nil && spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(p, "may not be set for a windows pod")}
	}
	var errs field.ErrorList
	if spec.Resources.Claims != nil {
		errs = append(errs, field.Forbidden(p.Child("claims"), "claims may not be set for Resources at pod-level"))
	}
	errs = append(errs, validateResourceRequirements(spec.Resources, validatePodLevelResourceName, claimNames, p)...)

	pod := &corev1.Pod{Spec: *spec}
	for name, sum := range resourcehelper.AggregateContainerRequests(pod, resourcehelper.PodResourcesOptions{}) {
		if podReq, ok := spec.Resources.Requests[name]; ok && sum.Cmp(podReq) > 0 {
			errs = append(errs, field.Invalid(p.Child("requests").Key(string(name)), podReq.String(), fmt.Sprintf("must be greater than or equal to aggregate container requests of %s", sum.String())))
		}
	}
	for name, sum := range resourcehelper.AggregateContainerLimits(pod, resourcehelper.PodResourcesOptions{}) {
		if !IsHugePageResourceName(name) {
			continue
		}
		if podLim, ok := spec.Resources.Limits[name]; ok && sum.Cmp(podLim) > 0 {
			errs = append(errs, field.Invalid(p.Child("limits").Key(string(name)), podLim.String(), fmt.Sprintf("must be greater than or equal to aggregate container limits of %s", sum.String())))
		}
	}
	for i, c := range spec.Containers {
		for name, lim := range c.Resources.Limits {
			if podLim, ok := spec.Resources.Limits[name]; ok && lim.Cmp(podLim) > 0 {
				// Upstream's path, as it is.
				errs = append(errs, field.Invalid(p.Child("containers").Index(i).Key(string(name)).Child("limits"), lim.String(), fmt.Sprintf("must be less than or equal to pod limits of %s", podLim.String())))
			}
		}
	}
	return errs
}

// validateHostNetworkPorts requires host ports equal to container ports on
// the host network; templates may leave them 0, to be defaulted in the pod.
func validateHostNetworkPorts(spec *corev1.PodSpec, opts *podOptions, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for i, c := range spec.Containers {
		for j, port := range c.Ports {
			if (opts.resourceIsPod || port.HostPort != 0) && port.HostPort != port.ContainerPort {
				errs = append(errs, field.Invalid(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, p *field.Path) field.ErrorList {
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(p, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(p.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if cfg == nil {
		return nil
	}
	var errs field.ErrorList
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(p.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, podLegacyIP(p.Child("nameservers").Index(i), ns, nil)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(p.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(p.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	// Relaxed search validation is GA: "." and underscores are allowed.
	for i, s := range cfg.Searches {
		if s == "." {
			continue
		}
		s = strings.TrimSuffix(s, ".")
		for _, msg := range validation.IsDNS1123SubdomainWithUnderscore(s) {
			errs = append(errs, field.Invalid(p.Child("searches").Index(i), s, msg))
		}
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(p.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

// validatePodSecurityContext validates a pod's security context and the
// host namespace fields that upstream keeps in it internally.
func validatePodSecurityContext(spec *corev1.PodSpec, opts *podOptions, specPath *field.Path) field.ErrorList {
	sc := spec.SecurityContext
	if sc == nil {
		return nil
	}
	p := specPath.Child("securityContext")
	var errs field.ErrorList
	if sc.FSGroup != nil {
		for _, msg := range validation.IsValidGroupID(*sc.FSGroup) {
			errs = append(errs, field.Invalid(p.Child("fsGroup"), *sc.FSGroup, msg))
		}
	}
	if sc.RunAsUser != nil {
		for _, msg := range validation.IsValidUserID(*sc.RunAsUser) {
			errs = append(errs, field.Invalid(p.Child("runAsUser"), *sc.RunAsUser, msg))
		}
	}
	if sc.RunAsGroup != nil {
		for _, msg := range validation.IsValidGroupID(*sc.RunAsGroup) {
			errs = append(errs, field.Invalid(p.Child("runAsGroup"), *sc.RunAsGroup, msg))
		}
	}
	for i, gid := range sc.SupplementalGroups {
		for _, msg := range validation.IsValidGroupID(gid) {
			errs = append(errs, field.Invalid(p.Child("supplementalGroups").Index(i), gid, msg))
		}
	}
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.HostPID {
		errs = append(errs, field.Invalid(p.Child("shareProcessNamespace"), *spec.ShareProcessNamespace, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	errs = append(errs, validateSysctls(spec, opts, p.Child("sysctls"))...)
	if sc.FSGroupChangePolicy != nil && !supportedFSGroupChange.Has(*sc.FSGroupChangePolicy) {
		errs = append(errs, field.NotSupported(p.Child("fsGroupChangePolicy"), sc.FSGroupChangePolicy, sets.List(supportedFSGroupChange)))
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, p.Child("seccompProfile"))...)
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, p.Child("windowsOptions"))...)
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, p.Child("appArmorProfile"))...)
	if sc.SupplementalGroupsPolicy != nil && !supportedSupplementalPol.Has(*sc.SupplementalGroupsPolicy) {
		errs = append(errs, field.NotSupported(p.Child("supplementalGroupsPolicy"), sc.SupplementalGroupsPolicy, sets.List(supportedSupplementalPol)))
	}
	if c := sc.SELinuxChangePolicy; c != nil {
		// SELinuxMount is off in 1.37: only Recursive, unless the old pod
		// already had a policy.
		if opts.allowAnySELinuxChangePolicy {
			if !supportedSELinuxChanges.Has(*c) {
				errs = append(errs, field.NotSupported(p.Child("seLinuxChangePolicy"), *c, sets.List(supportedSELinuxChanges)))
			}
		} else if *c != corev1.SELinuxChangePolicyRecursive {
			errs = append(errs, field.NotSupported(p.Child("seLinuxChangePolicy"), *c, []corev1.PodSELinuxChangePolicy{corev1.SELinuxChangePolicyRecursive}))
		}
	}
	return errs
}

func validateSysctls(spec *corev1.PodSpec, opts *podOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, s := range spec.SecurityContext.Sysctls {
		np := p.Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(np, ""))
		case len(s.Name) > sysctlMaxLength || !sysctlPattern.MatchString(s.Name):
			errs = append(errs, field.Invalid(np, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlPattern)))
		case names.Has(s.Name):
			errs = append(errs, field.Duplicate(np, s.Name))
		}
		if !opts.allowNamespacedSysctlsForHostNetAndHostIPC {
			if err := hostSysctlError(s.Name, spec, np); err != nil {
				errs = append(errs, err)
			}
		}
		names.Insert(s.Name)
	}
	return errs
}

// hostSysctlError reports a namespaced sysctl set in a pod that shares that
// namespace with the host.
func hostSysctlError(name string, spec *corev1.PodSpec, p *field.Path) *field.Error {
	ns, _, _ := utilsysctl.GetNamespace(name)
	switch {
	case spec.HostNetwork && ns == utilsysctl.NetNamespace:
		return field.Invalid(p, name, "may not be specified when 'hostNetwork' is true")
	case spec.HostIPC && ns == utilsysctl.IPCNamespace:
		return field.Invalid(p, name, "may not be specified when 'hostIPC' is true")
	}
	return nil
}

func validateSeccompProfile(sp *corev1.SeccompProfile, p *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(p.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), sp.Type, supportedSeccompTypes))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(p.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, validateLocalDescendingPath(*sp.LocalhostProfile, p.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(p.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

func validateAppArmorProfile(ap *corev1.AppArmorProfile, p *field.Path) field.ErrorList {
	if ap == nil {
		return nil
	}
	var errs field.ErrorList
	switch ap.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		lp := p.Child("localhostProfile")
		if ap.LocalhostProfile == nil {
			errs = append(errs, field.Required(lp, "must be set when AppArmor type is Localhost"))
			break
		}
		trimmed := strings.TrimSpace(*ap.LocalhostProfile)
		if trimmed != *ap.LocalhostProfile {
			errs = append(errs, field.Invalid(lp, *ap.LocalhostProfile, "must not be padded with whitespace"))
		} else if trimmed == "" {
			errs = append(errs, field.Required(lp, "must be set when AppArmor type is Localhost"))
		}
		const maxProfile = 4095 // PATH_MAX - 1
		if len(*ap.LocalhostProfile) > maxProfile {
			errs = append(errs, field.TooLong(lp, "", maxProfile))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if ap.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(p.Child("localhostProfile"), ap.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(p.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), ap.Type, supportedAppArmorTypes))
	}
	return errs
}

func validateWindowsOptions(w *corev1.WindowsSecurityContextOptions, p *field.Path) field.ErrorList {
	if w == nil {
		return nil
	}
	var errs field.ErrorList
	if w.GMSACredentialSpecName != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*w.GMSACredentialSpecName) {
			errs = append(errs, field.Invalid(p.Child("gmsaCredentialSpecName"), w.GMSACredentialSpecName, msg))
		}
	}
	if w.GMSACredentialSpec != nil {
		if l := len(*w.GMSACredentialSpec); l == 0 {
			errs = append(errs, field.Invalid(p.Child("gmsaCredentialSpec"), w.GMSACredentialSpec, "gmsaCredentialSpec cannot be an empty string"))
		} else if l > maxGMSACredentialSpecSize {
			errs = append(errs, field.Invalid(p.Child("gmsaCredentialSpec"), w.GMSACredentialSpec, "gmsaCredentialSpec size must be under 64 KiB"))
		}
	}
	if w.RunAsUserName != nil {
		errs = append(errs, validateWindowsUserName(*w.RunAsUserName, p.Child("runAsUserName"))...)
	}
	return errs
}

func validateWindowsUserName(name string, p *field.Path) field.ErrorList {
	bad := func(msg string) *field.Error { return field.Invalid(p, &name, msg) }
	switch parts := strings.Split(name, "\\"); {
	case name == "":
		return field.ErrorList{bad("runAsUserName cannot be an empty string")}
	case controlCharacters.MatchString(name):
		return field.ErrorList{bad("runAsUserName cannot contain control characters")}
	case len(parts) > 2:
		return field.ErrorList{bad("runAsUserName cannot contain more than one backslash")}
	default:
		var errs field.ErrorList
		user, domain := parts[0], ""
		if len(parts) == 2 {
			domain, user = parts[0], parts[1]
		}
		if len(domain) >= 256 {
			errs = append(errs, bad("runAsUserName's Domain length must be under 256 characters"))
		}
		if len(parts) == 2 && !windowsNetBIOSPattern.MatchString(domain) && !windowsDNSDomainPattern.MatchString(domain) {
			errs = append(errs, bad("runAsUserName's Domain doesn't match the NetBios nor the DNS format"))
		}
		if user == "" {
			errs = append(errs, bad("runAsUserName's User cannot be empty"))
		} else if len(user) > 104 {
			errs = append(errs, bad("runAsUserName's User length must not be longer than 104 characters"))
		}
		if windowsDotsSpacesOnly.MatchString(user) {
			errs = append(errs, bad("runAsUserName's User cannot contain only periods or spaces"))
		}
		if windowsBadUserChars.MatchString(user) {
			errs = append(errs, bad(`runAsUserName's User cannot contain the following characters: "/\:;|=,+*?<>@[]`))
		}
		return errs
	}
}

// ValidateSecurityContext validates a container's security context at
// fldPath; hostUsers is false when the pod has its own user namespace.
func ValidateSecurityContext(sc *corev1.SecurityContext, fldPath *field.Path, hostUsers bool) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.Privileged != nil && *sc.Privileged && !AllowPrivileged {
		errs = append(errs, field.Forbidden(fldPath.Child("privileged"), "disallowed by cluster policy"))
	}
	if sc.RunAsUser != nil {
		for _, msg := range validation.IsValidUserID(*sc.RunAsUser) {
			errs = append(errs, field.Invalid(fldPath.Child("runAsUser"), *sc.RunAsUser, msg))
		}
	}
	if sc.RunAsGroup != nil {
		for _, msg := range validation.IsValidGroupID(*sc.RunAsGroup) {
			errs = append(errs, field.Invalid(fldPath.Child("runAsGroup"), *sc.RunAsGroup, msg))
		}
	}
	if pm := sc.ProcMount; pm != nil {
		if *pm != corev1.DefaultProcMount && *pm != corev1.UnmaskedProcMount {
			errs = append(errs, field.NotSupported(fldPath.Child("procMount"), *pm, supportedProcMounts))
		}
		if hostUsers && *pm == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(fldPath.Child("procMount"), pm, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
	return append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
}

// validateWindowsHostProcess checks HostProcess containers: the same
// setting in pod and container, all containers or none, on the host
// network, and allowed by cluster policy.
func validateWindowsHostProcess(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var podHostProcess *bool
	if sc := spec.SecurityContext; sc != nil && sc.WindowsOptions != nil {
		podHostProcess = sc.WindowsOptions.HostProcess
	}
	containers, hostProcess := 0, 0
	visitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
		containers++
		var ctrHostProcess *bool
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			ctrHostProcess = c.SecurityContext.WindowsOptions.HostProcess
		}
		if podHostProcess != nil && ctrHostProcess != nil && *podHostProcess != *ctrHostProcess {
			errs = append(errs, field.Invalid(p.Child("securityContext", "windowsOptions", "hostProcess"), *ctrHostProcess, fmt.Sprintf("pod hostProcess value must be identical if both are specified, was %v", *podHostProcess)))
		}
		if (ctrHostProcess != nil && *ctrHostProcess) || (ctrHostProcess == nil && podHostProcess != nil && *podHostProcess) {
			hostProcess++
		}
	})
	if hostProcess > 0 {
		if hostProcess != containers {
			errs = append(errs, field.Invalid(specPath, "", "If pod contains any hostProcess containers then all containers must be HostProcess containers"))
		}
		if !spec.HostNetwork {
			errs = append(errs, field.Invalid(specPath.Child("hostNetwork"), spec.HostNetwork, "hostNetwork must be true if pod contains any hostProcess containers"))
		}
		if !AllowPrivileged {
			errs = append(errs, field.Forbidden(specPath, "hostProcess containers are disallowed by cluster policy"))
		}
	}
	return errs
}

// validateHostUsers restricts pods with their own user namespace
// (hostUsers false) from sharing the host's other namespaces.
func validateHostUsers(spec *corev1.PodSpec, opts *podOptions, specPath *field.Path) field.ErrorList {
	if spec.HostUsers == nil || *spec.HostUsers {
		return nil
	}
	var errs field.ErrorList
	const detail = "when `hostUsers` is false"
	// Host network support for user namespaces is alpha and off.
	if spec.HostNetwork {
		errs = append(errs, field.Forbidden(specPath.Child("hostNetwork"), detail))
	}
	// Upstream's paths are capitalised here.
	if spec.HostPID {
		errs = append(errs, field.Forbidden(specPath.Child("HostPID"), detail))
	}
	if spec.HostIPC {
		errs = append(errs, field.Forbidden(specPath.Child("HostIPC"), detail))
	}
	if !opts.allowUserNamespacesWithVolumeDevices {
		visitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
			if len(c.VolumeDevices) > 0 {
				errs = append(errs, field.Forbidden(p.Child("volumeDevices"), detail))
			}
		})
	}
	return errs
}

func validateHostnameOverride(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	h := spec.HostnameOverride
	if h == nil {
		return nil
	}
	p := specPath.Child("hostnameOverride")
	var errs field.ErrorList
	if spec.SetHostnameAsFQDN != nil && *spec.SetHostnameAsFQDN {
		errs = append(errs, field.Forbidden(p, "may not be specified when setHostnameAsFQDN is true"))
	}
	if spec.HostNetwork {
		errs = append(errs, field.Forbidden(p, "may not be specified when hostNetwork is true"))
	}
	if len(*h) > 64 {
		errs = append(errs, field.TooLong(p, "", 64))
	}
	return append(errs, ValidateDNS1123Subdomain(*h, p)...)
}

// validateFileKeyRefVolumes requires the volumes env fileKeyRefs read to be
// emptyDirs of the pod.
func validateFileKeyRefVolumes(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	sources := make(map[string]*corev1.VolumeSource, len(spec.Volumes))
	for i := range spec.Volumes {
		sources[spec.Volumes[i].Name] = &spec.Volumes[i].VolumeSource
	}
	var errs field.ErrorList
	visitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
		for j, env := range c.Env {
			if env.ValueFrom == nil || env.ValueFrom.FileKeyRef == nil {
				continue
			}
			name := env.ValueFrom.FileKeyRef.VolumeName
			np := p.Child("env").Index(j).Child("valueFrom", "fileKeyRef", "volumeName")
			if src, ok := sources[name]; !ok {
				errs = append(errs, field.NotFound(np, name))
			} else if src.EmptyDir == nil {
				errs = append(errs, field.Invalid(np, name, "referenced volume must be of type emptyDir"))
			}
		}
	})
	return errs
}

func validateLinuxPod(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	const detail = "windows options cannot be set for a linux pod"
	var errs field.ErrorList
	if sc := spec.SecurityContext; sc != nil && sc.WindowsOptions != nil {
		errs = append(errs, field.Forbidden(specPath.Child("securityContext", "windowsOptions"), detail))
	}
	visitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			errs = append(errs, field.Forbidden(p.Child("securityContext", "windowsOptions"), detail))
		}
	})
	return errs
}

func validateWindowsPod(spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	const detail = "cannot be set for a windows pod"
	var errs field.ErrorList
	forbid := func(set bool, p *field.Path) {
		if set {
			errs = append(errs, field.Forbidden(p, detail))
		}
	}
	// Upstream keeps the host fields in the security context, which
	// conversion always creates.
	scPath := specPath.Child("securityContext")
	if sc := spec.SecurityContext; sc != nil {
		forbid(sc.AppArmorProfile != nil, scPath.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, scPath.Child("seLinuxOptions"))
	}
	forbid(spec.HostUsers != nil, specPath.Child("hostUsers"))
	forbid(spec.HostPID, specPath.Child("hostPID"))
	forbid(spec.HostIPC, specPath.Child("hostIPC"))
	if sc := spec.SecurityContext; sc != nil {
		forbid(sc.SeccompProfile != nil, scPath.Child("seccompProfile"))
		forbid(sc.FSGroup != nil, scPath.Child("fsGroup"))
		forbid(sc.FSGroupChangePolicy != nil, scPath.Child("fsGroupChangePolicy"))
		forbid(len(sc.Sysctls) > 0, scPath.Child("sysctls"))
	}
	forbid(spec.ShareProcessNamespace != nil, specPath.Child("shareProcessNamespace"))
	if sc := spec.SecurityContext; sc != nil {
		forbid(sc.RunAsUser != nil, scPath.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, scPath.Child("runAsGroup"))
		forbid(sc.SupplementalGroups != nil, scPath.Child("supplementalGroups"))
		forbid(sc.SupplementalGroupsPolicy != nil, scPath.Child("supplementalGroupsPolicy"))
		forbid(sc.SELinuxChangePolicy != nil, scPath.Child("seLinuxChangePolicy"))
	}
	visitContainers(spec, specPath, func(c *corev1.Container, cp *field.Path) {
		sc := c.SecurityContext
		if sc == nil {
			return
		}
		p := cp.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, p.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, p.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, p.Child("seccompProfile"))
		forbid(sc.Capabilities != nil, p.Child("capabilities"))
		forbid(sc.ReadOnlyRootFilesystem != nil, p.Child("readOnlyRootFilesystem"))
		forbid(sc.Privileged != nil, p.Child("privileged"))
		forbid(sc.AllowPrivilegeEscalation != nil, p.Child("allowPrivilegeEscalation"))
		forbid(sc.ProcMount != nil, p.Child("procMount"))
		forbid(sc.RunAsUser != nil, p.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, p.Child("runAsGroup"))
	})
	return errs
}

// validatePodAnnotations validates the annotations pods and templates give
// meaning to: the mirror pod marker, the deletion cost, seccomp and AppArmor.
func validatePodAnnotations(annotations map[string]string, spec *corev1.PodSpec, opts *podOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v, mirror := annotations[corev1.MirrorPodAnnotationKey]; mirror && spec.NodeName == "" {
		errs = append(errs, field.Invalid(p.Key(corev1.MirrorPodAnnotationKey), v, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if !opts.allowInvalidPodDeletionCost {
		if v, ok := annotations[corev1.PodDeletionCost]; ok && !isValidDeletionCost(v) {
			errs = append(errs, field.Invalid(p.Key(corev1.PodDeletionCost), v, "must be a 32bit integer"))
		}
	}
	if v, ok := annotations[corev1.SeccompPodAnnotationKey]; ok {
		errs = append(errs, validateSeccompAnnotation(v, p.Child(corev1.SeccompPodAnnotationKey))...)
	}
	for k, v := range annotations {
		if strings.HasPrefix(k, corev1.SeccompContainerAnnotationKeyPrefix) {
			errs = append(errs, validateSeccompAnnotation(v, p.Child(k))...)
		}
		if name, ok := strings.CutPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix); ok {
			found := false
			visitContainers(spec, field.NewPath("spec"), func(c *corev1.Container, _ *field.Path) { found = found || c.Name == name })
			if !found {
				errs = append(errs, field.Invalid(p.Key(k), name, "container not found"))
			}
			if v != "" && v != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault && v != corev1.DeprecatedAppArmorBetaProfileNameUnconfined &&
				!strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				errs = append(errs, field.Invalid(p.Key(k), v, fmt.Sprintf("invalid AppArmor profile name: %q", v)))
			}
		}
	}
	return errs
}

// isValidDeletionCost reports a decimal 32-bit integer without a plus sign
// or leading zeros.
func isValidDeletionCost(v string) bool {
	if v == "" || !(v[0] == '-' || v == "0" || (v[0] >= '1' && v[0] <= '9')) {
		return false
	}
	var n int64
	_, err := fmt.Sscanf(v, "%d", &n)
	return err == nil && fmt.Sprint(n) == v && n >= math.MinInt32 && n <= math.MaxInt32
}

func validateSeccompAnnotation(v string, p *field.Path) field.ErrorList {
	switch {
	case v == corev1.SeccompProfileRuntimeDefault, v == corev1.DeprecatedSeccompProfileDockerDefault, v == corev1.SeccompProfileNameUnconfined:
		return nil
	case strings.HasPrefix(v, corev1.SeccompLocalhostProfileNamePrefix):
		return validateLocalDescendingPath(strings.TrimPrefix(v, corev1.SeccompLocalhostProfileNamePrefix), p)
	}
	return field.ErrorList{field.Invalid(p, v, "must be a valid seccomp profile")}
}

// validateSeccompAnnotationsMatchFields requires seccomp annotations, where
// both they and the fields are set, to say the same.
func validateSeccompAnnotationsMatchFields(annotations map[string]string, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sc := spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		if a, ok := annotations[corev1.SeccompPodAnnotationKey]; ok {
			if err := seccompMismatch(a, sc.SeccompProfile, specPath.Child("securityContext", "seccompProfile")); err != nil {
				errs = append(errs, err)
			}
		}
	}
	visitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			return
		}
		if a, ok := annotations[corev1.SeccompContainerAnnotationKeyPrefix+c.Name]; ok {
			if err := seccompMismatch(a, c.SecurityContext.SeccompProfile, p.Child("securityContext", "seccompProfile")); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errs
}

func seccompMismatch(a string, sp *corev1.SeccompProfile, p *field.Path) *field.Error {
	const typeMsg = "seccomp type in annotation and field must match"
	switch sp.Type {
	case corev1.SeccompProfileTypeUnconfined:
		if a != corev1.SeccompProfileNameUnconfined {
			return field.Forbidden(p.Child("type"), typeMsg)
		}
	case corev1.SeccompProfileTypeRuntimeDefault:
		if a != corev1.SeccompProfileRuntimeDefault && a != corev1.DeprecatedSeccompProfileDockerDefault {
			return field.Forbidden(p.Child("type"), typeMsg)
		}
	case corev1.SeccompProfileTypeLocalhost:
		if !strings.HasPrefix(a, corev1.SeccompLocalhostProfileNamePrefix) {
			return field.Forbidden(p.Child("type"), typeMsg)
		}
		if sp.LocalhostProfile == nil || strings.TrimPrefix(a, corev1.SeccompLocalhostProfileNamePrefix) != *sp.LocalhostProfile {
			return field.Forbidden(p.Child("localhostProfile"), "seccomp profile in annotation and field must match")
		}
	}
	return nil
}

// validateAppArmorAnnotationsMatchFields requires the deprecated AppArmor
// annotations, where a container also has a profile, to say the same
// (Windows pods are not checked).
func validateAppArmorAnnotationsMatchFields(annotations map[string]string, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	if spec.OS != nil && spec.OS.Name == corev1.Windows {
		return nil
	}
	var podProfile *corev1.AppArmorProfile
	if spec.SecurityContext != nil {
		podProfile = spec.SecurityContext.AppArmorProfile
	}
	var errs field.ErrorList
	visitContainers(spec, specPath, func(c *corev1.Container, cp *field.Path) {
		profile := podProfile
		if c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil {
			profile = c.SecurityContext.AppArmorProfile
		}
		a, ok := annotations[corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+c.Name]
		if profile == nil || !ok {
			return
		}
		p := cp.Child("securityContext", "appArmorProfile")
		const typeMsg = "apparmor type in annotation and field must match"
		switch profile.Type {
		case corev1.AppArmorProfileTypeUnconfined:
			if a != corev1.DeprecatedAppArmorBetaProfileNameUnconfined {
				errs = append(errs, field.Forbidden(p.Child("type"), typeMsg))
			}
		case corev1.AppArmorProfileTypeRuntimeDefault:
			if a != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault {
				errs = append(errs, field.Forbidden(p.Child("type"), typeMsg))
			}
		case corev1.AppArmorProfileTypeLocalhost:
			if !strings.HasPrefix(a, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				errs = append(errs, field.Forbidden(p.Child("type"), typeMsg))
			} else if profile.LocalhostProfile == nil || strings.TrimPrefix(a, corev1.DeprecatedAppArmorBetaProfileNamePrefix) != *profile.LocalhostProfile {
				errs = append(errs, field.Forbidden(p.Child("localhostProfile"), "apparmor profile in annotation and field must match"))
			}
		}
	})
	return errs
}
