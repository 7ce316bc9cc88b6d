// Package flowcontrol declares flowcontrol.apiserver.k8s.io/v1 FlowSchemas
// and PriorityLevelConfigurations with their status subresources. The API
// is served whether or not API Priority and Fairness is enabled.
package flowcontrol

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	flowcontrolvalidation "github.com/skiff-dev/skiff/apiserver/validation/flowcontrol"
)

// Resources returns the flowcontrol.apiserver.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := flowcontrolv1.SchemeGroupVersion
	return []registry.Resource{
		&registry.Definition[*flowcontrolv1.FlowSchema]{
			GroupVersion: gv, Resource: "flowschemas", Singular: "flowschema", Kind: "FlowSchema",
			Validate:       flowcontrolvalidation.ValidateFlowSchema,
			ValidateUpdate: flowcontrolvalidation.ValidateFlowSchemaUpdate,
			New:            func() *flowcontrolv1.FlowSchema { return &flowcontrolv1.FlowSchema{} },
			NewList:        func() runtime.Object { return &flowcontrolv1.FlowSchemaList{} },
			Generation:     true,
			Status:         &registry.Status[*flowcontrolv1.FlowSchema]{ValidateUpdate: flowcontrolvalidation.ValidateFlowSchemaStatusUpdate},
			TableConvertor: tables(flowcontrolv1.Resource("flowschemas")),
		},
		&registry.Definition[*flowcontrolv1.PriorityLevelConfiguration]{
			GroupVersion: gv, Resource: "prioritylevelconfigurations", Singular: "prioritylevelconfiguration",
			Kind:           "PriorityLevelConfiguration",
			Validate:       flowcontrolvalidation.ValidatePriorityLevelConfiguration,
			ValidateUpdate: flowcontrolvalidation.ValidatePriorityLevelConfigurationUpdate,
			New:            func() *flowcontrolv1.PriorityLevelConfiguration { return &flowcontrolv1.PriorityLevelConfiguration{} },
			NewList:        func() runtime.Object { return &flowcontrolv1.PriorityLevelConfigurationList{} },
			Generation:     true,
			Status:         &registry.Status[*flowcontrolv1.PriorityLevelConfiguration]{ValidateUpdate: flowcontrolvalidation.ValidatePriorityLevelConfigurationStatusUpdate},
			TableConvertor: tables(flowcontrolv1.Resource("prioritylevelconfigurations")),
		},
	}
}
