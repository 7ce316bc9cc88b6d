// Package scheduling declares scheduling.k8s.io/v1 PriorityClasses.
package scheduling

import (
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	schedulingvalidation "github.com/skiff-dev/skiff/apiserver/validation/scheduling"
)

// Resources returns the scheduling.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*schedulingv1.PriorityClass]{
			GroupVersion: schedulingv1.SchemeGroupVersion, Resource: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass",
			ShortNames:     []string{"pc"},
			Validate:       schedulingvalidation.ValidatePriorityClass,
			ValidateUpdate: schedulingvalidation.ValidatePriorityClassUpdate,
			New:            func() *schedulingv1.PriorityClass { return &schedulingv1.PriorityClass{} },
			NewList:        func() runtime.Object { return &schedulingv1.PriorityClassList{} },
			Generation:     true,
			TableConvertor: tables(schedulingv1.Resource("priorityclasses")),
		},
	}
}
