package core

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// strictIPCIDRValidation is upstream's StrictIPCIDRValidation feature gate,
// still alpha and off: the IP and CIDR fields that predate it accept
// leading zeros in IPv4 octets and IPv4-mapped IPv6 addresses.
const strictIPCIDRValidation = false

// validateLegacyIP validates value as an IP address in a field that
// predates strict IP validation (Service clusterIPs and externalIPs,
// Endpoints and EndpointSlice addresses, load-balancer status). Values in
// oldValues, taken from the object being updated, are accepted as they are.
func validateLegacyIP(fldPath *field.Path, value string, oldValues ...string) field.ErrorList {
	return validation.IsValidIPForLegacyField(fldPath, value, strictIPCIDRValidation, oldValues)
}

// validateLegacyCIDR is validateLegacyIP for CIDR values (Node podCIDRs,
// Service loadBalancerSourceRanges, NetworkPolicy ipBlocks).
func validateLegacyCIDR(fldPath *field.Path, value string, oldValues ...string) field.ErrorList {
	return validation.IsValidCIDRForLegacyField(fldPath, value, strictIPCIDRValidation, oldValues)
}

// ValidateEndpointIP rejects the addresses that make no sense as the
// destination of Service traffic: unspecified, loopback, link-local unicast
// and link-local multicast. Endpoints, EndpointSlices and Service
// externalIPs use it once the value parsed as an IP.
func ValidateEndpointIP(ip string, fldPath *field.Path) field.ErrorList {
	parsed := netutils.ParseIPSloppy(ip)
	if parsed == nil {
		return field.ErrorList{field.Invalid(fldPath, ip, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if parsed.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if parsed.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if parsed.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if parsed.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// validateRoutableIP validates an IP of a legacy field that must also be a
// sensible traffic destination: the format first, then, only for a value
// that parsed, ValidateEndpointIP.
func validateRoutableIP(fldPath *field.Path, value string) field.ErrorList {
	if errs := validateLegacyIP(fldPath, value); len(errs) > 0 {
		return errs
	}
	return ValidateEndpointIP(value, fldPath)
}

// nameErrs validates value with an object-name function at fldPath.
func nameErrs(value string, nameFn func(string, bool) []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range nameFn(value, false) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}
