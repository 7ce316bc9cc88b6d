package discovery

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func slice(addressType discoveryv1.AddressType, addresses ...string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "default", ResourceVersion: "1"},
		AddressType: addressType,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: addresses}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(""), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](80)}},
	}
}

func TestValidateEndpointSliceLimits(t *testing.T) {
	tooMany := func(path string) vt.Want { return vt.Want{Type: field.ErrorTypeTooMany, Field: path} }
	addresses := make([]string, 101)
	for i := range addresses {
		addresses[i] = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
	}
	es := slice(discoveryv1.AddressTypeIPv4, addresses...)
	vt.Expect(t, ValidateEndpointSlice(es), tooMany("endpoints[0].addresses"))

	es = slice(discoveryv1.AddressTypeIPv4, "10.0.0.1")
	es.Endpoints = make([]discoveryv1.Endpoint, 1001)
	vt.Expect(t, ValidateEndpointSlice(es), tooMany("endpoints"))

	es = slice(discoveryv1.AddressTypeIPv4, "10.0.0.1")
	es.Endpoints[0].Hints = &discoveryv1.EndpointHints{}
	for i := 0; i < 9; i++ {
		es.Endpoints[0].Hints.ForZones = append(es.Endpoints[0].Hints.ForZones, discoveryv1.ForZone{Name: fmt.Sprint("z", i)})
	}
	vt.Expect(t, ValidateEndpointSlice(es), tooMany("endpoints[0].hints.forZones"))
}

func TestValidateEndpointSliceUpdate(t *testing.T) {
	old := slice(discoveryv1.AddressTypeIPv4, "10.0.0.1")
	vt.Expect(t, ValidateEndpointSliceUpdate(slice(discoveryv1.AddressTypeIPv4, "10.0.0.2"), old))
	vt.Expect(t, ValidateEndpointSliceUpdate(slice(discoveryv1.AddressTypeIPv6, "fd00::1"), old),
		vt.Invalid("addressType", "field is immutable"))
	vt.Expect(t, ValidateEndpointSliceUpdate(slice(discoveryv1.AddressTypeIPv4), old),
		vt.Required("endpoints[0].addresses", "must contain at least 1 address"))
}
