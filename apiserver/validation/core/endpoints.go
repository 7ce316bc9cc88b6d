package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateEndpoints validates Endpoints: a namespaced object named as a DNS
// subdomain whose subsets each list addresses (ready or not) and ports.
func ValidateEndpoints(e *corev1.Endpoints) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&e.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	subsetsPath := field.NewPath("subsets")
	for i := range e.Subsets {
		errs = append(errs, validateEndpointSubset(&e.Subsets[i], subsetsPath.Index(i))...)
	}
	return errs
}

// ValidateEndpointsUpdate validates an update of Endpoints. An address may
// change its nodeName: node IPs and pod CIDRs get reused.
func ValidateEndpointsUpdate(e, old *corev1.Endpoints) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&e.ObjectMeta, &old.ObjectMeta)
	return append(errs, ValidateEndpoints(e)...)
}

// validateEndpointSubset validates one subset; the ports of a headless
// Service's endpoints may be empty, the addresses may not.
func validateEndpointSubset(ss *corev1.EndpointSubset, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
		errs = append(errs, field.Required(fldPath, "must specify `addresses` or `notReadyAddresses`"))
	}
	for i := range ss.Addresses {
		errs = append(errs, validateEndpointAddress(&ss.Addresses[i], fldPath.Child("addresses").Index(i))...)
	}
	for i := range ss.NotReadyAddresses {
		errs = append(errs, validateEndpointAddress(&ss.NotReadyAddresses[i], fldPath.Child("notReadyAddresses").Index(i))...)
	}
	for i := range ss.Ports {
		errs = append(errs, validateEndpointPort(&ss.Ports[i], len(ss.Ports) > 1, fldPath.Child("ports").Index(i))...)
	}
	return errs
}

// validateEndpointAddress validates an address: a routable IP, a DNS-label
// hostname and a node name.
func validateEndpointAddress(a *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	errs := validateRoutableIP(fldPath.Child("ip"), a.IP)
	if a.Hostname != "" {
		errs = append(errs, ValidateDNS1123Label(a.Hostname, fldPath.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, nameErrs(*a.NodeName, apimachineryvalidation.NameIsDNSSubdomain, fldPath.Child("nodeName"))...)
	}
	return errs
}

// validateEndpointPort validates a port: a DNS-label name, required when
// there are several, a port number, a protocol and a qualified
// appProtocol.
func validateEndpointPort(port *corev1.EndpointPort, requireName bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case requireName && port.Name == "":
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	case port.Name != "":
		errs = append(errs, ValidateDNS1123Label(port.Name, fldPath.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), port.Port, msg))
	}
	switch {
	case port.Protocol == "":
		errs = append(errs, field.Required(fldPath.Child("protocol"), ""))
	case !servicePortProtocols.Has(port.Protocol):
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), port.Protocol, sets.List(servicePortProtocols)))
	}
	if port.AppProtocol != nil {
		errs = append(errs, ValidateQualifiedName(*port.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	return errs
}
