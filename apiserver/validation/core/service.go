package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// maxClientIPAffinitySeconds is the longest ClientIP session affinity
// timeout, one day.
const maxClientIPAffinitySeconds = 86400

var (
	serviceTypes              = sets.New(corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName)
	sessionAffinityTypes      = sets.New(corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone)
	serviceIPFamilies         = sets.New(corev1.IPv4Protocol, corev1.IPv6Protocol)
	serviceIPFamilyPolicies   = sets.New(corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack)
	externalTrafficPolicies   = sets.New(corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal)
	internalTrafficPolicies   = sets.New(corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal)
	loadBalancerIPModes       = sets.New(corev1.LoadBalancerIPModeVIP, corev1.LoadBalancerIPModeProxy)
	servicePortProtocols      = sets.New(corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)
	trafficDistributionValues = []string{
		// PreferSameTrafficDistribution is GA: the zone and node preferences
		// join the original PreferClose.
		corev1.ServiceTrafficDistributionPreferClose,
		corev1.ServiceTrafficDistributionPreferSameZone,
		corev1.ServiceTrafficDistributionPreferSameNode,
	}
)

// ValidateService validates a Service for create, as upstream does once the
// registry has synced clusterIP with clusterIPs[0] and allocated IPs and
// ports.
//
// Upstream's service REST allocates in BeginCreate, before the strategy's
// validation, so the object validated has its clusterIPs, ipFamilies,
// ipFamilyPolicy, nodePorts and healthCheckNodePort filled in. This
// function accepts an object before allocation too as long as clusterIP and
// clusterIPs are both empty (or in sync) and nodePorts are 0, with one
// exception that follows upstream: a LoadBalancer Service with
// externalTrafficPolicy Local must already have its healthCheckNodePort.
// Callers that validate before allocating should allocate that port first.
func ValidateService(s *corev1.Service) field.ErrorList {
	return validateService(s, nil)
}

// validateService validates s; old, the stored version on update, lets the
// IPs and CIDRs it already holds through unchanged.
func validateService(s *corev1.Service, old *corev1.Service) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := metavalidation.ValidateObjectMeta(&s.ObjectMeta, true, apimachineryvalidation.NameIsDNS1035Label)

	hints, hintsSet := s.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	mode, modeSet := s.Annotations[corev1.AnnotationTopologyMode]
	if hintsSet && modeSet && hints != mode {
		errs = append(errs, field.Invalid(metaPath.Child("annotations").Key(corev1.AnnotationTopologyMode), mode,
			fmt.Sprintf("must match annotations[%s] when both are specified", corev1.DeprecatedAnnotationTopologyAwareHints)))
	}

	spec := &s.Spec
	specPath := field.NewPath("spec")
	headless := isHeadlessService(s)
	if len(spec.Ports) == 0 && !headless && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	errs = append(errs, validateServiceTypeFields(s, specPath)...)

	portsPath := specPath.Child("ports")
	portNames := sets.New[string]()
	for i := range spec.Ports {
		errs = append(errs, validateServicePort(&spec.Ports[i], len(spec.Ports) > 1, portNames, portsPath.Index(i))...)
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	errs = append(errs, validateSessionAffinity(spec, specPath)...)
	errs = append(errs, validateServiceClusterIPs(s)...)

	var oldExternalIPs []string
	if old != nil {
		oldExternalIPs = old.Spec.ExternalIPs
	}
	for i, ip := range spec.ExternalIPs {
		p := specPath.Child("externalIPs").Index(i)
		if ipErrs := validateLegacyIP(p, ip, oldExternalIPs...); len(ipErrs) > 0 {
			errs = append(errs, ipErrs...)
		} else {
			errs = append(errs, ValidateEndpointIP(ip, p)...)
		}
	}

	switch {
	case spec.Type == "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	case !serviceTypes.Has(spec.Type):
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, sets.List(serviceTypes)))
	}
	if spec.Type == corev1.ServiceTypeClusterIP {
		for i := range spec.Ports {
			if spec.Ports[i].NodePort != 0 {
				errs = append(errs, field.Forbidden(portsPath.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	errs = append(errs, validateServicePortUniqueness(spec.Ports, portsPath)...)
	errs = append(errs, validateLoadBalancerSourceRanges(s, old)...)

	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		// Upstream's path lacks the "spec." prefix.
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	errs = append(errs, validateLoadBalancerClass(nil, s)...)
	errs = append(errs, validateExternalTrafficPolicy(s)...)
	errs = append(errs, validateInternalTrafficPolicy(s)...)
	if td := spec.TrafficDistribution; td != nil && !sets.New(trafficDistributionValues...).Has(*td) {
		errs = append(errs, field.NotSupported(specPath.Child("trafficDistribution"), *td, trafficDistributionValues))
	}
	return errs
}

// validateServiceTypeFields checks what each type forbids or requires: no
// headless LoadBalancer or NodePort, and an ExternalName Service with a
// DNS name and no cluster IPs or families.
func validateServiceTypeFields(s *corev1.Service, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &s.Spec
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if isHeadlessService(s) {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0],
				fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// A trailing dot marks the name fully qualified.
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, ValidateDNS1123Subdomain(cname, specPath.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	}
	return errs
}

// validateServicePort validates one port: a DNS-label name, required when
// there are several and unique (names collects them), a port number, a
// protocol, a target port and an optional qualified appProtocol.
func validateServicePort(sp *corev1.ServicePort, requireName bool, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case requireName && sp.Name == "":
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	case sp.Name != "":
		errs = append(errs, ValidateDNS1123Label(sp.Name, fldPath.Child("name"))...)
		if names.Has(sp.Name) {
			errs = append(errs, field.Duplicate(fldPath.Child("name"), sp.Name))
		} else {
			names.Insert(sp.Name)
		}
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), sp.Port, msg))
	}
	switch {
	case sp.Protocol == "":
		errs = append(errs, field.Required(fldPath.Child("protocol"), ""))
	case !servicePortProtocols.Has(sp.Protocol):
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), sp.Protocol, sets.List(servicePortProtocols)))
	}
	errs = append(errs, ValidatePortNumOrName(sp.TargetPort, fldPath.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		errs = append(errs, ValidateQualifiedName(*sp.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	// The v1 API tolerates any targetPort on headless Services.
	return errs
}

// validateServicePortUniqueness rejects two ports with the same protocol
// and port, or the same protocol and nodePort.
func validateServicePortUniqueness(ports []corev1.ServicePort, portsPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	nodePorts := sets.New[corev1.ServicePort]()
	for i := range ports {
		if ports[i].NodePort == 0 {
			continue
		}
		key := corev1.ServicePort{Protocol: ports[i].Protocol, NodePort: ports[i].NodePort}
		if nodePorts.Has(key) {
			errs = append(errs, field.Duplicate(portsPath.Index(i).Child("nodePort"), ports[i].NodePort))
		}
		nodePorts.Insert(key)
	}
	servicePorts := sets.New[corev1.ServicePort]()
	for i := range ports {
		key := corev1.ServicePort{Protocol: ports[i].Protocol, Port: ports[i].Port}
		if servicePorts.Has(key) {
			errs = append(errs, field.Duplicate(portsPath.Index(i), key))
		}
		servicePorts.Insert(key)
	}
	return errs
}

// validateSessionAffinity checks the affinity type and that its config is
// set for ClientIP (with a timeout up to a day) and unset for None.
func validateSessionAffinity(spec *corev1.ServiceSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case spec.SessionAffinity == "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	case !sessionAffinityTypes.Has(spec.SessionAffinity):
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), spec.SessionAffinity, sets.List(sessionAffinityTypes)))
	}
	configPath := specPath.Child("sessionAffinityConfig")
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		whenClientIP := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		cfg := spec.SessionAffinityConfig
		switch {
		case cfg == nil:
			errs = append(errs, field.Required(configPath, whenClientIP))
		case cfg.ClientIP == nil:
			errs = append(errs, field.Required(configPath.Child("clientIP"), whenClientIP))
		case cfg.ClientIP.TimeoutSeconds == nil:
			errs = append(errs, field.Required(configPath.Child("clientIP", "timeoutSeconds"), whenClientIP))
		case *cfg.ClientIP.TimeoutSeconds <= 0 || *cfg.ClientIP.TimeoutSeconds > maxClientIPAffinitySeconds:
			errs = append(errs, field.Invalid(configPath.Child("clientIP", "timeoutSeconds"), cfg.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
		}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(configPath, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	}
	return errs
}

// validateServiceClusterIPs validates clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy together: clusterIPs[0] is clusterIP, at most one IP per
// family and two in all, "None" only alone, and each IP of the family at
// its index. ExternalName Services are checked by type instead.
func validateServiceClusterIPs(s *corev1.Service) field.ErrorList {
	spec := &s.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	ipsPath := specPath.Child("clusterIPs")
	familiesPath := specPath.Child("ipFamilies")

	// Users may manage either field; the registry syncs the other.
	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}

	seen := sets.New[corev1.IPFamily]()
	for i, family := range spec.IPFamilies {
		if !serviceIPFamilies.Has(family) {
			errs = append(errs, field.NotSupported(familiesPath.Index(i), family, sets.List(serviceIPFamilies)))
		}
		// Unique families also means at most one of each.
		if seen.Has(family) {
			errs = append(errs, field.Duplicate(familiesPath.Index(i), family))
		}
		seen.Insert(family)
	}
	// A nil policy is allowed: the registry fills it in when allocating.
	if p := spec.IPFamilyPolicy; p != nil && !serviceIPFamilyPolicies.Has(*p) {
		errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), p, sets.List(serviceIPFamilyPolicies)))
	}

	badIPs := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				badIPs = true
				errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		ipErrs := validateLegacyIP(ipsPath.Index(i), ip)
		badIPs = badIPs || len(ipErrs) > 0
		errs = append(errs, ipErrs...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	// The family checks below would only restate errors about bad IPs.
	if badIPs {
		return errs
	}
	if len(spec.ClusterIPs) > 1 {
		dualStack, err := netutils.IsDualStackIPStrings(spec.ClusterIPs)
		if err != nil {
			errs = append(errs, field.InternalError(ipsPath, fmt.Errorf("failed to check for dual stack with error:%v", err)))
		}
		if !dualStack {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !isHeadlessService(s) {
		for i, ip := range spec.ClusterIPs {
			if i >= len(spec.IPFamilies) {
				break
			}
			switch {
			case spec.IPFamilies[i] == corev1.IPv4Protocol && netutils.IsIPv6String(ip):
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			case spec.IPFamilies[i] == corev1.IPv6Protocol && !netutils.IsIPv6String(ip):
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// validateLoadBalancerSourceRanges validates the source ranges of a
// LoadBalancer Service, given in the field or, when the field is empty, in
// the legacy annotation. Both tolerate spaces around each CIDR.
func validateLoadBalancerSourceRanges(s *corev1.Service, old *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	var oldRanges []string
	if old != nil {
		oldRanges = old.Spec.LoadBalancerSourceRanges
	}
	if len(s.Spec.LoadBalancerSourceRanges) > 0 {
		// Upstream's path has a capital L.
		p := field.NewPath("spec", "LoadBalancerSourceRanges")
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, cidr := range s.Spec.LoadBalancerSourceRanges {
			errs = append(errs, validateLegacyCIDR(p.Index(i), strings.TrimSpace(cidr), oldRanges...)...)
		}
		return errs
	}
	value, ok := s.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]
	if !ok {
		return nil
	}
	p := field.NewPath("metadata", "annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
	if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
	}
	if value = strings.TrimSpace(value); value != "" {
		for _, cidr := range strings.Split(value, ",") {
			errs = append(errs, validateLegacyCIDR(p, strings.TrimSpace(cidr))...)
		}
	}
	return errs
}

// validateLoadBalancerClass validates loadBalancerClass: a qualified name
// on LoadBalancer Services, unset on others, and fixed while a Service
// stays a LoadBalancer (old is nil on create).
func validateLoadBalancerClass(old, s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "loadBalancerClass")
	isLB := s.Spec.Type == corev1.ServiceTypeLoadBalancer
	if old != nil && old.Spec.Type == corev1.ServiceTypeLoadBalancer && isLB && !sameStringPtr(old.Spec.LoadBalancerClass, s.Spec.LoadBalancerClass) {
		errs = append(errs, field.Invalid(p, s.Spec.LoadBalancerClass, "may not change once set"))
	}
	switch {
	case s.Spec.LoadBalancerClass == nil:
	case isLB:
		errs = append(errs, ValidateQualifiedName(*s.Spec.LoadBalancerClass, p)...)
	default:
		errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
	}
	return errs
}

// validateExternalTrafficPolicy checks externalTrafficPolicy, set exactly
// on externally reachable Services, and healthCheckNodePort, set exactly
// on LoadBalancer Services with the Local policy.
func validateExternalTrafficPolicy(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	policy := s.Spec.ExternalTrafficPolicy
	switch {
	case !externallyAccessible(s):
		if policy != "" {
			errs = append(errs, field.Invalid(specPath.Child("externalTrafficPolicy"), policy, "may only be set for externally-accessible services"))
		}
	case policy == "":
		errs = append(errs, field.Required(specPath.Child("externalTrafficPolicy"), ""))
	case !externalTrafficPolicies.Has(policy):
		errs = append(errs, field.NotSupported(specPath.Child("externalTrafficPolicy"), policy, sets.List(externalTrafficPolicies)))
	}

	hcPath := specPath.Child("healthCheckNodePort")
	port := s.Spec.HealthCheckNodePort
	switch {
	case !needsHealthCheck(s):
		if port != 0 {
			errs = append(errs, field.Invalid(hcPath, port, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	case port == 0:
		errs = append(errs, field.Required(hcPath, ""))
	default:
		for _, msg := range validation.IsValidPortNum(int(port)) {
			errs = append(errs, field.Invalid(hcPath, port, msg))
		}
	}
	return errs
}

// validateInternalTrafficPolicy requires internalTrafficPolicy on
// ClusterIP, NodePort and LoadBalancer Services (others may set it, for
// compatibility) and checks its value.
func validateInternalTrafficPolicy(s *corev1.Service) field.ErrorList {
	p := field.NewPath("spec", "internalTrafficPolicy")
	policy := s.Spec.InternalTrafficPolicy
	if policy == nil {
		switch s.Spec.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			return field.ErrorList{field.Required(p, "")}
		}
		return nil
	}
	if !internalTrafficPolicies.Has(*policy) {
		return field.ErrorList{field.NotSupported(p, *policy, sets.List(internalTrafficPolicies))}
	}
	return nil
}

// ValidateServiceUpdate validates an update of a Service: the primary
// cluster IP and IP family stay as they are (a secondary may be added, or
// released with ipFamilyPolicy SingleStack) unless the Service is or
// becomes ExternalName, loadBalancerClass and healthCheckNodePort stay
// fixed, and the result is a valid Service.
func ValidateServiceUpdate(s, old *corev1.Service) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateClusterIPsUpdate(old, s)...)
	errs = append(errs, validateIPFamiliesUpdate(old, s)...)
	errs = append(errs, validateLoadBalancerClass(old, s)...)
	if needsHealthCheck(old) && needsHealthCheck(s) && s.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return append(errs, validateService(s, old)...)
}

// validateClusterIPsUpdate keeps the cluster IPs of a Service: equal when
// their number is kept, the primary kept when one is released (and then
// the policy must be SingleStack) or added.
func validateClusterIPsUpdate(old, s *corev1.Service) field.ErrorList {
	if s.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadlessService(old) && isHeadlessService(s) {
		return nil
	}
	var errs field.ErrorList
	ipsPath := field.NewPath("spec", "clusterIPs")
	oldIPs, newIPs := old.Spec.ClusterIPs, s.Spec.ClusterIPs
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				errs = append(errs, field.Invalid(ipsPath.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "primary clusterIP can not be unset"))
		}
		if len(oldIPs) > 0 && len(newIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
		if len(newIPs) == 1 && !isSingleStack(s) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), s.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
	}
	return errs
}

// validateIPFamiliesUpdate is validateClusterIPsUpdate for ipFamilies;
// headless Services may change families freely. Upstream reports every
// family change at ipFamilies[0].
func validateIPFamiliesUpdate(old, s *corev1.Service) field.ErrorList {
	if s.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadlessService(old) || isHeadlessService(s) {
		return nil
	}
	var errs field.ErrorList
	primaryPath := field.NewPath("spec", "ipFamilies").Index(0)
	oldFamilies, newFamilies := old.Spec.IPFamilies, s.Spec.IPFamilies
	switch {
	case len(oldFamilies) == len(newFamilies):
		for i := range oldFamilies {
			if oldFamilies[i] != newFamilies[i] {
				errs = append(errs, field.Invalid(primaryPath, newFamilies, "may not change once set"))
			}
		}
	case len(oldFamilies) > len(newFamilies):
		// Upstream tests clusterIPs here, not ipFamilies.
		if len(s.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(primaryPath, newFamilies, "primary ipFamily can not be unset"))
		}
		if len(newFamilies) > 0 && newFamilies[0] != oldFamilies[0] {
			errs = append(errs, field.Invalid(primaryPath, s.Spec.ClusterIPs, "may not change once set"))
		}
		if len(newFamilies) == 1 && !isSingleStack(s) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), s.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldFamilies) > 0 && newFamilies[0] != oldFamilies[0] {
			errs = append(errs, field.Invalid(primaryPath, s.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return errs
}

// ValidateServiceStatusUpdate validates an update through services/status:
// the load-balancer ingress points.
func ValidateServiceStatusUpdate(s, old *corev1.Service) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateLoadBalancerStatus(&s.Status.LoadBalancer, &old.Status.LoadBalancer, &s.Spec, field.NewPath("status", "loadBalancer"))...)
}

// validateLoadBalancerStatus validates the ingress points of a
// LoadBalancer Service (others may have none): an IP with its mode (VIP or
// Proxy, required with the IP since LoadBalancerIPMode is GA), a DNS
// hostname that is not an IP. IPs already in old are accepted as they are.
func validateLoadBalancerStatus(status, old *corev1.LoadBalancerStatus, spec *corev1.ServiceSpec, fldPath *field.Path) field.ErrorList {
	ingressPath := fldPath.Child("ingress")
	if spec.Type != corev1.ServiceTypeLoadBalancer && len(status.Ingress) != 0 {
		return field.ErrorList{field.Forbidden(ingressPath, "may only be used when `spec.type` is 'LoadBalancer'")}
	}
	var oldIPs []string
	if old != nil {
		for _, ing := range old.Ingress {
			if ing.IP != "" {
				oldIPs = append(oldIPs, ing.IP)
			}
		}
	}
	var errs field.ErrorList
	for i, ing := range status.Ingress {
		p := ingressPath.Index(i)
		if ing.IP != "" {
			errs = append(errs, validateLegacyIP(p.Child("ip"), ing.IP, oldIPs...)...)
		}
		switch {
		case ing.IPMode == nil:
			if ing.IP != "" {
				errs = append(errs, field.Required(p.Child("ipMode"), "must be specified when `ip` is set"))
			}
		case ing.IP == "":
			errs = append(errs, field.Forbidden(p.Child("ipMode"), "may not be specified when `ip` is not set"))
		case !loadBalancerIPModes.Has(*ing.IPMode):
			errs = append(errs, field.NotSupported(p.Child("ipMode"), ing.IPMode, sets.List(loadBalancerIPModes)))
		}
		if ing.Hostname != "" {
			errs = append(errs, ValidateDNS1123Subdomain(ing.Hostname, p.Child("hostname"))...)
			if netutils.ParseIPSloppy(ing.Hostname) != nil {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// isHeadlessService reports a Service whose only cluster IP is "None".
func isHeadlessService(s *corev1.Service) bool {
	return s != nil && len(s.Spec.ClusterIPs) == 1 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// externallyAccessible reports a Service reachable from outside the
// cluster: NodePort, LoadBalancer, or ClusterIP with external IPs.
func externallyAccessible(s *corev1.Service) bool {
	switch s.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeClusterIP:
		return len(s.Spec.ExternalIPs) > 0
	}
	return false
}

// needsHealthCheck reports a LoadBalancer Service that keeps traffic on
// the nodes with endpoints, which load balancers find by health check.
func needsHealthCheck(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func isSingleStack(s *corev1.Service) bool {
	return s.Spec.IPFamilyPolicy != nil && *s.Spec.IPFamilyPolicy == corev1.IPFamilyPolicySingleStack
}

func sameStringPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
