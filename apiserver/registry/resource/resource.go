// Package resource declares resource.k8s.io/v1, dynamic resource
// allocation: DeviceClasses, ResourceClaims (with status),
// ResourceClaimTemplates and ResourceSlices.
package resource

import (
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	resourcevalidation "github.com/skiff-dev/skiff/apiserver/validation/resource"
)

// Resources returns the resource.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := resourcev1.SchemeGroupVersion
	table := func(r string) rest.TableConvertor { return tables(resourcev1.Resource(r)) }
	return []registry.Resource{
		&registry.Definition[*resourcev1.DeviceClass]{
			GroupVersion: gv, Resource: "deviceclasses", Singular: "deviceclass", Kind: "DeviceClass",
			Validate:       resourcevalidation.ValidateDeviceClass,
			ValidateUpdate: resourcevalidation.ValidateDeviceClassUpdate,
			New:            func() *resourcev1.DeviceClass { return &resourcev1.DeviceClass{} },
			NewList:        func() runtime.Object { return &resourcev1.DeviceClassList{} },
			Generation:     true,
			TableConvertor: table("deviceclasses"),
		},
		&registry.Definition[*resourcev1.ResourceClaim]{
			GroupVersion: gv, Resource: "resourceclaims", Singular: "resourceclaim", Kind: "ResourceClaim", Namespaced: true,
			Validate:       resourcevalidation.ValidateResourceClaim,
			ValidateUpdate: resourcevalidation.ValidateResourceClaimUpdate,
			New:            func() *resourcev1.ResourceClaim { return &resourcev1.ResourceClaim{} },
			NewList:        func() runtime.Object { return &resourcev1.ResourceClaimList{} },
			Status:         &registry.Status[*resourcev1.ResourceClaim]{ValidateUpdate: resourcevalidation.ValidateResourceClaimStatusUpdate},
			TableConvertor: table("resourceclaims"),
		},
		&registry.Definition[*resourcev1.ResourceClaimTemplate]{
			GroupVersion: gv, Resource: "resourceclaimtemplates", Singular: "resourceclaimtemplate", Kind: "ResourceClaimTemplate", Namespaced: true,
			Validate:       resourcevalidation.ValidateResourceClaimTemplate,
			ValidateUpdate: resourcevalidation.ValidateResourceClaimTemplateUpdate,
			New:            func() *resourcev1.ResourceClaimTemplate { return &resourcev1.ResourceClaimTemplate{} },
			NewList:        func() runtime.Object { return &resourcev1.ResourceClaimTemplateList{} },
			TableConvertor: table("resourceclaimtemplates"),
		},
		&registry.Definition[*resourcev1.ResourceSlice]{
			GroupVersion: gv, Resource: "resourceslices", Singular: "resourceslice", Kind: "ResourceSlice",
			Validate:       resourcevalidation.ValidateResourceSlice,
			ValidateUpdate: resourcevalidation.ValidateResourceSliceUpdate,
			New:            func() *resourcev1.ResourceSlice { return &resourcev1.ResourceSlice{} },
			NewList:        func() runtime.Object { return &resourcev1.ResourceSliceList{} },
			Generation:     true,
			Fields: func(s *resourcev1.ResourceSlice) fields.Set {
				node := ""
				if s.Spec.NodeName != nil {
					node = *s.Spec.NodeName
				}
				return fields.Set{resourcev1.ResourceSliceSelectorNodeName: node, resourcev1.ResourceSliceSelectorDriver: s.Spec.Driver}
			},
			FieldLabels:    []string{resourcev1.ResourceSliceSelectorNodeName, resourcev1.ResourceSliceSelectorDriver},
			TableConvertor: table("resourceslices"),
		},
	}
}
