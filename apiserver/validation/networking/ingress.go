package networking

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

const (
	// ingressClassAnnotation is the deprecated way to name an Ingress's
	// class.
	ingressClassAnnotation = "kubernetes.io/ingress.class"
	// maxIngressClassControllerLen bounds spec.controller of an IngressClass.
	maxIngressClassControllerLen = 250
)

var (
	ingressPathTypes = sets.New(networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific)
	// Sequences and suffixes an Exact or Prefix path may not have.
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
	parameterScopes      = sets.New(networkingv1.IngressClassParametersReferenceScopeNamespace, networkingv1.IngressClassParametersReferenceScopeCluster)
)

// ingressOptions are the allowances an update inherits from the stored
// Ingress.
type ingressOptions struct {
	// allowInvalidSecretName keeps accepting TLS secret names that are not
	// object names.
	allowInvalidSecretName bool
	// allowInvalidWildcardHostRule skips the rules of wildcard hosts.
	allowInvalidWildcardHostRule bool
	// allowRelaxedServiceName accepts backend Service names that are DNS
	// labels but not RFC 1035 labels. Upstream's RelaxedServiceNameValidation
	// gate is alpha and off, so only stored Ingresses that have such names
	// keep them.
	allowRelaxedServiceName bool
}

// ValidateIngress validates a new Ingress: a namespaced object named as a
// DNS subdomain with a default backend or rules, valid hosts, paths,
// backends and TLS entries, and an ingressClassName that agrees with the
// deprecated class annotation.
func ValidateIngress(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateIngress(ing, ingressOptions{})
	if value, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && value != *ing.Spec.IngressClassName {
		// Upstream's path lacks the "metadata." prefix.
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), value, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

// ValidateIngressUpdate validates an update of an Ingress, keeping the
// leniencies its stored version needs.
func ValidateIngressUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	opts := ingressOptions{
		allowInvalidSecretName:       hasInvalidTLSSecretName(old),
		allowInvalidWildcardHostRule: hasInvalidWildcardHostRule(old),
		allowRelaxedServiceName:      hasRelaxedServiceName(old),
	}
	errs := metavalidation.ValidateObjectMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateIngress(ing, opts)...)
}

// ValidateIngressStatusUpdate validates an update through
// ingresses/status: the load-balancer ingress points.
func ValidateIngressStatusUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta)
	var oldIPs []string
	for _, point := range old.Status.LoadBalancer.Ingress {
		if point.IP != "" {
			oldIPs = append(oldIPs, point.IP)
		}
	}
	pointsPath := field.NewPath("status", "loadBalancer", "ingress")
	for i, point := range ing.Status.LoadBalancer.Ingress {
		p := pointsPath.Index(i)
		if point.IP != "" {
			errs = append(errs, validation.IsValidIPForLegacyField(p.Child("ip"), point.IP, strictIPCIDRValidation, oldIPs)...)
		}
		if point.Hostname != "" {
			for _, msg := range validation.IsDNS1123Subdomain(point.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), point.Hostname, msg))
			}
			if netutils.ParseIPSloppy(point.Hostname) != nil {
				errs = append(errs, field.Invalid(p.Child("hostname"), point.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

func validateIngress(ing *networkingv1.Ingress, opts ingressOptions) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&ing.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	spec := &ing.Spec
	specPath := field.NewPath("spec")
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(specPath, spec.Rules, fmt.Sprintf("either `%s` or `rules` must be specified", "defaultBackend")))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, opts, specPath.Child("defaultBackend"))...)
	}
	for i := range spec.Rules {
		errs = append(errs, validateIngressRule(&spec.Rules[i], opts, specPath.Child("rules").Index(i))...)
	}
	for i, tls := range spec.TLS {
		p := specPath.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			errs = append(errs, validateIngressHost(host, p.Child("hosts").Index(j))...)
		}
		if !opts.allowInvalidSecretName {
			for _, msg := range tlsSecretNameErrs(tls.SecretName) {
				errs = append(errs, field.Invalid(p.Child("secretName"), tls.SecretName, msg))
			}
		}
	}
	if spec.IngressClassName != nil {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*spec.IngressClassName, false) {
			errs = append(errs, field.Invalid(specPath.Child("ingressClassName"), *spec.IngressClassName, msg))
		}
	}
	return errs
}

// validateIngressHost validates a host name, which may start with a "*"
// label.
func validateIngressHost(host string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	msgs := validation.IsDNS1123Subdomain(host)
	if strings.Contains(host, "*") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	}
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(p, host, msg))
	}
	return errs
}

// validateIngressRule validates a rule: a DNS host (not an IP) and HTTP
// paths.
func validateIngressRule(rule *networkingv1.IngressRule, opts ingressOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	wildcard := false
	if rule.Host != "" {
		hostPath := fldPath.Child("host")
		if netutils.ParseIPSloppy(rule.Host) != nil {
			errs = append(errs, field.Invalid(hostPath, rule.Host, "must be a DNS name, not an IP address"))
		}
		wildcard = strings.Contains(rule.Host, "*")
		errs = append(errs, validateIngressHost(rule.Host, hostPath)...)
	}
	if !wildcard || !opts.allowInvalidWildcardHostRule {
		errs = append(errs, validateIngressRuleValue(&rule.IngressRuleValue, opts, fldPath)...)
	}
	return errs
}

func validateIngressRuleValue(value *networkingv1.IngressRuleValue, opts ingressOptions, fldPath *field.Path) field.ErrorList {
	if value.HTTP == nil {
		return nil
	}
	var errs field.ErrorList
	httpPath := fldPath.Child("http")
	if len(value.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(httpPath.Child("paths"), ""))
	}
	for i := range value.HTTP.Paths {
		errs = append(errs, validateHTTPIngressPath(&value.HTTP.Paths[i], opts, httpPath.Child("paths").Index(i))...)
	}
	return errs
}

// validateHTTPIngressPath validates a path by its type: Exact and Prefix
// paths are absolute and clean, ImplementationSpecific ones absolute if
// set; and its backend.
func validateHTTPIngressPath(path *networkingv1.HTTPIngressPath, opts ingressOptions, fldPath *field.Path) field.ErrorList {
	if path.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pathPath := fldPath.Child("path")
	switch *path.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, path.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(path.Path, seq) {
				errs = append(errs, field.Invalid(pathPath, path.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidPathSuffixes {
			if strings.HasSuffix(path.Path, suffix) {
				errs = append(errs, field.Invalid(pathPath, path.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, path.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("pathType"), *path.PathType, sets.List(ingressPathTypes)))
	}
	return append(errs, validateIngressBackend(&path.Backend, opts, fldPath.Child("backend"))...)
}

// validateIngressBackend validates a backend: a resource or a Service with
// a port name or number, not both.
func validateIngressBackend(b *networkingv1.IngressBackend, opts ingressOptions, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource, fldPath.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	svc := b.Service
	if svc.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("service", "name"), ""))
	} else {
		nameFn := apimachineryvalidation.NameIsDNS1035Label
		if opts.allowRelaxedServiceName {
			nameFn = apimachineryvalidation.NameIsDNSLabel
		}
		for _, msg := range nameFn(svc.Name, false) {
			errs = append(errs, field.Invalid(fldPath.Child("service", "name"), svc.Name, msg))
		}
	}
	portPath := fldPath.Child("service", "port")
	hasName, hasNumber := svc.Port.Name != "", svc.Port.Number != 0
	switch {
	case hasName && hasNumber:
		errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
	case hasName:
		for _, msg := range validation.IsValidPortName(svc.Port.Name) {
			errs = append(errs, field.Invalid(portPath.Child("name"), svc.Port.Name, msg))
		}
	case hasNumber:
		for _, msg := range validation.IsValidPortNum(int(svc.Port.Number)) {
			errs = append(errs, field.Invalid(portPath.Child("number"), svc.Port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(fldPath, "port name or number is required"))
	}
	return errs
}

// validateTypedLocalObjectReference validates a resource backend: a DNS
// API group, and a kind and name usable in a path.
func validateTypedLocalObjectReference(ref *corev1.TypedLocalObjectReference, fldPath *field.Path) field.ErrorList {
	errs := validateAPIGroup(ref.APIGroup, fldPath)
	errs = append(errs, requiredPathSegment(ref.Kind, fldPath.Child("kind"))...)
	return append(errs, requiredPathSegment(ref.Name, fldPath.Child("name"))...)
}

func validateAPIGroup(group *string, fldPath *field.Path) field.ErrorList {
	if group == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(*group) {
		errs = append(errs, field.Invalid(fldPath.Child("apiGroup"), *group, msg))
	}
	return errs
}

// requiredPathSegment requires value and checks it can be a path segment.
func requiredPathSegment(value string, p *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(value) {
		errs = append(errs, field.Invalid(p, value, msg))
	}
	return errs
}

// tlsSecretNameErrs validates a TLS secret name, which may be empty.
func tlsSecretNameErrs(name string) []string {
	if name == "" {
		return nil
	}
	return apimachineryvalidation.NameIsDNSSubdomain(name, false)
}

func hasInvalidTLSSecretName(old *networkingv1.Ingress) bool {
	for _, tls := range old.Spec.TLS {
		if len(tlsSecretNameErrs(tls.SecretName)) > 0 {
			return true
		}
	}
	return false
}

func hasInvalidWildcardHostRule(old *networkingv1.Ingress) bool {
	for i := range old.Spec.Rules {
		rule := &old.Spec.Rules[i]
		if strings.Contains(rule.Host, "*") && len(validateIngressRuleValue(&rule.IngressRuleValue, ingressOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}

// hasRelaxedServiceName reports a backend Service name in old that is a
// DNS label but not an RFC 1035 label.
func hasRelaxedServiceName(old *networkingv1.Ingress) bool {
	relaxed := func(b *networkingv1.IngressBackend) bool {
		if b == nil || b.Service == nil {
			return false
		}
		name := b.Service.Name
		return len(apimachineryvalidation.NameIsDNSLabel(name, false)) == 0 && len(apimachineryvalidation.NameIsDNS1035Label(name, false)) > 0
	}
	if relaxed(old.Spec.DefaultBackend) {
		return true
	}
	for _, rule := range old.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for i := range rule.HTTP.Paths {
			if relaxed(&rule.HTTP.Paths[i].Backend) {
				return true
			}
		}
	}
	return false
}

// ValidateIngressClass validates an IngressClass: a cluster-scoped object
// named as a DNS subdomain with a domain-prefixed controller of at most 250
// bytes and a valid parameters reference.
func ValidateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&ic.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	specPath := field.NewPath("spec")
	controllerPath := specPath.Child("controller")
	if ic.Spec.Controller == "" {
		errs = append(errs, field.Required(controllerPath, ""))
	} else {
		if len(ic.Spec.Controller) > maxIngressClassControllerLen {
			errs = append(errs, field.TooLong(controllerPath, "", maxIngressClassControllerLen))
		}
		errs = append(errs, validation.IsDomainPrefixedPath(controllerPath, ic.Spec.Controller)...)
	}
	if params := ic.Spec.Parameters; params != nil {
		errs = append(errs, validateIngressClassParameters(params, specPath.Child("parameters"))...)
	}
	return errs
}

// ValidateIngressClassUpdate validates an update of an IngressClass: a
// valid class whose controller does not change.
func ValidateIngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ic.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(ic.Spec.Controller, old.Spec.Controller, field.NewPath("spec", "controller"))...)
	return append(errs, ValidateIngressClass(ic)...)
}

// validateIngressClassParameters validates a parameters reference: the
// resource fields and a scope, Namespace with a namespace or Cluster
// without.
func validateIngressClassParameters(params *networkingv1.IngressClassParametersReference, fldPath *field.Path) field.ErrorList {
	errs := validateAPIGroup(params.APIGroup, fldPath)
	errs = append(errs, requiredPathSegment(params.Kind, fldPath.Child("kind"))...)
	errs = append(errs, requiredPathSegment(params.Name, fldPath.Child("name"))...)
	if params.Scope == nil {
		return append(errs, field.Required(fldPath.Child("scope"), ""))
	}
	scope := *params.Scope
	if !parameterScopes.Has(scope) {
		return append(errs, field.NotSupported(fldPath.Child("scope"), scope, sets.List(parameterScopes)))
	}
	nsPath := fldPath.Child("namespace")
	switch {
	case scope == networkingv1.IngressClassParametersReferenceScopeNamespace && params.Namespace == nil:
		errs = append(errs, field.Required(nsPath, "`parameters.scope` is set to 'Namespace'"))
	case scope == networkingv1.IngressClassParametersReferenceScopeNamespace:
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(*params.Namespace, false) {
			errs = append(errs, field.Invalid(nsPath, *params.Namespace, msg))
		}
	case params.Namespace != nil:
		errs = append(errs, field.Forbidden(nsPath, "`parameters.scope` is set to 'Cluster'"))
	}
	return errs
}
