// Package autoscaling declares HorizontalPodAutoscalers, served as
// autoscaling/v2 (the internal and storage version) and autoscaling/v1
// (converted by the scheme).
package autoscaling

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	autoscalingvalidation "github.com/skiff-dev/skiff/apiserver/validation/autoscaling"
)

// Resources returns the horizontalpodautoscalers resource as served at gv,
// autoscaling/v2 or autoscaling/v1; both read and write the same objects.
func Resources(gv schema.GroupVersion, tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*autoscalingv2.HorizontalPodAutoscaler]{
			GroupVersion: gv, Resource: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler",
			Kind: "HorizontalPodAutoscaler", Namespaced: true,
			ShortNames: []string{"hpa"}, Categories: []string{"all"},
			Validate:       autoscalingvalidation.ValidateHorizontalPodAutoscaler,
			ValidateUpdate: autoscalingvalidation.ValidateHorizontalPodAutoscalerUpdate,
			New:            func() *autoscalingv2.HorizontalPodAutoscaler { return &autoscalingv2.HorizontalPodAutoscaler{} },
			NewList:        func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
			Status:         &registry.Status[*autoscalingv2.HorizontalPodAutoscaler]{ValidateUpdate: autoscalingvalidation.ValidateHorizontalPodAutoscalerStatusUpdate},
			TableConvertor: tables(schema.GroupResource{Group: gv.Group, Resource: "horizontalpodautoscalers"}),
		},
	}
}
