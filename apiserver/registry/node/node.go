// Package node declares node.k8s.io/v1 RuntimeClasses.
package node

import (
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	nodevalidation "github.com/skiff-dev/skiff/apiserver/validation/node"
)

// Resources returns the node.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*nodev1.RuntimeClass]{
			GroupVersion: nodev1.SchemeGroupVersion, Resource: "runtimeclasses", Singular: "runtimeclass", Kind: "RuntimeClass",
			Validate:       nodevalidation.ValidateRuntimeClass,
			ValidateUpdate: nodevalidation.ValidateRuntimeClassUpdate,
			New:            func() *nodev1.RuntimeClass { return &nodev1.RuntimeClass{} },
			NewList:        func() runtime.Object { return &nodev1.RuntimeClassList{} },
			TableConvertor: tables(nodev1.Resource("runtimeclasses")),
		},
	}
}
