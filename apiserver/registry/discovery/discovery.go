// Package discovery declares discovery.k8s.io/v1 EndpointSlices.
package discovery

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	discoveryvalidation "github.com/skiff-dev/skiff/apiserver/validation/discovery"
)

// Resources returns the discovery.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*discoveryv1.EndpointSlice]{
			GroupVersion: discoveryv1.SchemeGroupVersion, Resource: "endpointslices", Singular: "endpointslice",
			Kind: "EndpointSlice", Namespaced: true,
			Validate:       discoveryvalidation.ValidateEndpointSlice,
			ValidateUpdate: discoveryvalidation.ValidateEndpointSliceUpdate,
			New:            func() *discoveryv1.EndpointSlice { return &discoveryv1.EndpointSlice{} },
			NewList:        func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
			Generation:     true,
			TableConvertor: tables(discoveryv1.Resource("endpointslices")),
		},
	}
}
