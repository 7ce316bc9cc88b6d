// Package resource declares resource.k8s.io/v1, dynamic resource
// allocation: DeviceClasses, ResourceClaims (with status),
// ResourceClaimTemplates, ResourceSlices and DeviceTaintRules (with status).
package resource

import (
	"context"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		&registry.Definition[*resourcev1.DeviceTaintRule]{
			GroupVersion: gv, Resource: "devicetaintrules", Singular: "devicetaintrule", Kind: "DeviceTaintRule",
			Validate:         resourcevalidation.ValidateDeviceTaintRule,
			ValidateUpdate:   resourcevalidation.ValidateDeviceTaintRuleUpdate,
			PrepareForUpdate: stampEffectChange,
			New:              func() *resourcev1.DeviceTaintRule { return &resourcev1.DeviceTaintRule{} },
			NewList:          func() runtime.Object { return &resourcev1.DeviceTaintRuleList{} },
			Generation:       true,
			Status:           &registry.Status[*resourcev1.DeviceTaintRule]{ValidateUpdate: resourcevalidation.ValidateDeviceTaintRuleStatusUpdate},
			TableConvertor:   table("devicetaintrules"),
		},
	}
}

// stampEffectChange makes a rule's taint.timeAdded say when its effect was
// set, as upstream's strategy does: an update that changes the effect but
// keeps the old time gets the current second (the eviction controller
// counts toleration seconds from it).
func stampEffectChange(_ context.Context, r, old *resourcev1.DeviceTaintRule) {
	if r.Spec.Taint.Effect != old.Spec.Taint.Effect && r.Spec.Taint.TimeAdded.Equal(old.Spec.Taint.TimeAdded) {
		r.Spec.Taint.TimeAdded = &metav1.Time{Time: time.Now().Truncate(time.Second)}
	}
}
