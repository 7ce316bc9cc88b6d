package discovery

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/validation/core"
	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// Upstream's limits on the size of an EndpointSlice.
const (
	maxEndpoints      = 1000
	maxAddresses      = 100
	maxPorts          = 20000
	maxTopologyLabels = 16
	maxZoneHints      = 8
	maxNodeHints      = 8
)

var (
	addressTypes  = sets.New(discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN)
	portProtocols = sets.New(corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)
)

// ValidateEndpointSlice validates a new EndpointSlice: a namespaced object
// named as a DNS subdomain with an address type, at most 1000 endpoints of
// 1-100 addresses of that type, and at most 20000 uniquely named ports.
func ValidateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&es.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validateAddressType(es.AddressType)...)
	errs = append(errs, validateEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validatePorts(es.Ports, field.NewPath("ports"))...)
}

// ValidateEndpointSliceUpdate validates an update of an EndpointSlice: a
// valid slice whose address type does not change.
func ValidateEndpointSliceUpdate(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&es.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, ValidateEndpointSlice(es)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(es.AddressType, old.AddressType, field.NewPath("addressType"))...)
}

func validateAddressType(t discoveryv1.AddressType) field.ErrorList {
	p := field.NewPath("addressType")
	switch {
	case t == "":
		return field.ErrorList{field.Required(p, "")}
	case !addressTypes.Has(t):
		return field.ErrorList{field.NotSupported(p, t, sets.List(addressTypes))}
	}
	return nil
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addressType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range endpoints {
		ep := &endpoints[i]
		p := fldPath.Index(i)
		addressesPath := p.Child("addresses")
		switch {
		case len(ep.Addresses) == 0:
			errs = append(errs, field.Required(addressesPath, "must contain at least 1 address"))
		case len(ep.Addresses) > maxAddresses:
			errs = append(errs, field.TooMany(addressesPath, len(ep.Addresses), maxAddresses))
		}
		for j, address := range ep.Addresses {
			errs = append(errs, validateAddress(address, addressType, addressesPath.Index(j))...)
		}
		if ep.NodeName != nil {
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(p.Child("nodeName"), *ep.NodeName, msg))
			}
		}
		topologyPath := p.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(topologyPath, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, topologyPath)...)
		if _, ok := ep.DeprecatedTopology[corev1.LabelTopologyZone]; ok {
			// Upstream's conversion moves this key to zone; a v1 object
			// keeping it is an error of the server, as upstream reports.
			errs = append(errs, field.InternalError(topologyPath.Key(corev1.LabelTopologyZone), fmt.Errorf("reserved key was not removed in conversion")))
		}
		if ep.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*ep.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), *ep.Hostname, msg))
			}
		}
		if ep.Hints != nil {
			errs = append(errs, validateHints(ep.Hints, p.Child("hints"))...)
		}
	}
	return errs
}

// validateAddress validates one address by the slice's type: an IP of the
// family that is a sensible traffic destination, or a domain name. Unknown
// types are reported by validateAddressType only.
func validateAddress(address string, addressType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	switch addressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		// EndpointSlice addresses predate strict IP validation; the
		// StrictIPCIDRValidation gate is still off.
		if errs := validation.IsValidIPForLegacyField(p, address, false, nil); len(errs) > 0 {
			return errs
		}
		var errs field.ErrorList
		if isIPv6 := netutils.IsIPv6String(address); addressType == discoveryv1.AddressTypeIPv4 && isIPv6 {
			errs = append(errs, field.Invalid(p, address, "must be an IPv4 address"))
		} else if addressType == discoveryv1.AddressTypeIPv6 && !isIPv6 {
			errs = append(errs, field.Invalid(p, address, "must be an IPv6 address"))
		}
		return append(errs, core.ValidateEndpointIP(address, p)...)
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(p, address)
	}
	return nil
}

func validatePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(p.Child("name"), name, msg))
			}
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		} else {
			names.Insert(name)
		}
		switch {
		case port.Protocol == nil:
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		case !portProtocols.Has(*port.Protocol):
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, sets.List(portProtocols)))
		}
		if port.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
				errs = append(errs, field.Invalid(p.Child("appProtocol"), *port.AppProtocol, msg))
			}
		}
	}
	return errs
}

// validateHints validates topology hints: at most 8 unique zones that are
// label values and 8 unique nodes with node names.
func validateHints(hints *discoveryv1.EndpointHints, fldPath *field.Path) field.ErrorList {
	zonesPath := fldPath.Child("forZones")
	if len(hints.ForZones) > maxZoneHints {
		return field.ErrorList{field.TooMany(zonesPath, len(hints.ForZones), maxZoneHints)}
	}
	var errs field.ErrorList
	zones := sets.New[string]()
	for i, zone := range hints.ForZones {
		p := zonesPath.Index(i).Child("name")
		if zones.Has(zone.Name) {
			errs = append(errs, field.Duplicate(p, zone.Name))
		} else {
			zones.Insert(zone.Name)
		}
		for _, msg := range validation.IsValidLabelValue(zone.Name) {
			errs = append(errs, field.Invalid(p, zone.Name, msg))
		}
	}
	nodesPath := fldPath.Child("forNodes")
	if len(hints.ForNodes) > maxNodeHints {
		return append(errs, field.TooMany(nodesPath, len(hints.ForNodes), maxNodeHints))
	}
	nodes := sets.New[string]()
	for i, node := range hints.ForNodes {
		p := nodesPath.Index(i).Child("name")
		if nodes.Has(node.Name) {
			errs = append(errs, field.Duplicate(p, node.Name))
		} else {
			nodes.Insert(node.Name)
		}
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(node.Name, false) {
			errs = append(errs, field.Invalid(p, node.Name, msg))
		}
	}
	return errs
}
