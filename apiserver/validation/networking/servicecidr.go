package networking

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateServiceCIDR validates a new ServiceCIDR: a cluster-scoped object
// named as a DNS subdomain with one or two CIDRs in canonical form, one per
// IP family. Overlaps with other ServiceCIDRs are the registry's concern.
func ValidateServiceCIDR(sc *networkingv1.ServiceCIDR) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&sc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateServiceCIDRSpec(&sc.Spec, field.NewPath("spec", "cidrs"))...)
}

func validateServiceCIDRSpec(spec *networkingv1.ServiceCIDRSpec, fldPath *field.Path) field.ErrorList {
	switch {
	case len(spec.CIDRs) == 0:
		return field.ErrorList{field.Required(fldPath, "at least one CIDR required")}
	case len(spec.CIDRs) > 2:
		return field.ErrorList{field.Invalid(fldPath, spec, "may only hold up to 2 values")}
	}
	var errs field.ErrorList
	for i, cidr := range spec.CIDRs {
		// A new API: strict and canonical.
		errs = append(errs, validation.IsValidCIDR(fldPath.Index(i), cidr)...)
	}
	if len(spec.CIDRs) == 2 {
		first, second := netutils.IPFamilyOfCIDRString(spec.CIDRs[0]), netutils.IPFamilyOfCIDRString(spec.CIDRs[1])
		if first == second && first != netutils.IPFamilyUnknown {
			errs = append(errs, field.Invalid(fldPath, spec.CIDRs, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"))
		}
	}
	return errs
}

// ValidateServiceCIDRUpdate validates an update of a ServiceCIDR: its
// CIDRs do not change, except that a single-stack one may gain a CIDR of
// the other family.
func ValidateServiceCIDRUpdate(sc, old *networkingv1.ServiceCIDR) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta)
	cidrsPath := field.NewPath("spec", "cidrs")
	oldCIDRs, newCIDRs := old.Spec.CIDRs, sc.Spec.CIDRs
	switch {
	case len(oldCIDRs) == len(newCIDRs):
		for i := range oldCIDRs {
			if oldCIDRs[i] != newCIDRs[i] {
				errs = append(errs, field.Invalid(cidrsPath.Index(i), newCIDRs[i], apimachineryvalidation.FieldImmutableErrorMsg))
			}
		}
	case len(oldCIDRs) == 1 && len(newCIDRs) == 2:
		// Upgrading to dual stack.
		if newCIDRs[0] != oldCIDRs[0] {
			errs = append(errs, field.Invalid(cidrsPath.Index(0), newCIDRs[0], apimachineryvalidation.FieldImmutableErrorMsg))
		}
		errs = append(errs, validateServiceCIDRSpec(&sc.Spec, cidrsPath)...)
	default:
		errs = append(errs, field.Invalid(cidrsPath, newCIDRs, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

// ValidateServiceCIDRStatusUpdate validates an update through
// servicecidrs/status; the conditions are the controller's.
func ValidateServiceCIDRStatusUpdate(sc, old *networkingv1.ServiceCIDR) field.ErrorList {
	return metavalidation.ValidateObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta)
}

// ValidateIPAddress validates a new IPAddress: a cluster-scoped object
// named as an IP in canonical form, with a parent reference to the object
// it is allocated to.
func ValidateIPAddress(ip *networkingv1.IPAddress) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&ip.ObjectMeta, false, ipAddressNameErrs)
	return append(errs, validateParentReference(ip.Spec.ParentRef, field.NewPath("spec"))...)
}

// ValidateIPAddressUpdate validates an update of an IPAddress, whose
// parent reference does not change.
func ValidateIPAddressUpdate(ip, old *networkingv1.IPAddress) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ip.ObjectMeta, &old.ObjectMeta)
	return append(errs, apimachineryvalidation.ValidateImmutableField(ip.Spec.ParentRef, old.Spec.ParentRef, field.NewPath("spec", "parentRef"))...)
}

// ipAddressNameErrs is the name function of IPAddresses: the name is the
// IP, strict and canonical. Names are never generated, so prefix is
// ignored.
func ipAddressNameErrs(name string, _ bool) []string {
	var msgs []string
	for _, err := range validation.IsValidIP(&field.Path{}, name) {
		msgs = append(msgs, err.Detail)
	}
	return msgs
}

// validateParentReference requires a parent reference with a resource and
// a name usable in paths, a DNS group (empty for the core group) and an
// optional namespace.
func validateParentReference(ref *networkingv1.ParentReference, fldPath *field.Path) field.ErrorList {
	if ref == nil {
		return field.ErrorList{field.Required(fldPath.Child("parentRef"), "")}
	}
	p := fldPath.Child("parentRef")
	var errs field.ErrorList
	if ref.Group != "" {
		for _, msg := range validation.IsDNS1123Subdomain(ref.Group) {
			errs = append(errs, field.Invalid(p.Child("group"), ref.Group, msg))
		}
	}
	errs = append(errs, requiredPathSegment(ref.Resource, p.Child("resource"))...)
	errs = append(errs, requiredPathSegment(ref.Name, p.Child("name"))...)
	if ref.Namespace != "" {
		for _, msg := range content.IsPathSegmentName(ref.Namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), ref.Namespace, msg))
		}
	}
	return errs
}
