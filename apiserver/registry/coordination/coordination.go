// Package coordination declares coordination.k8s.io/v1 Leases, which
// leader election and node heartbeats write.
package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	coordinationvalidation "github.com/skiff-dev/skiff/apiserver/validation/coordination"
)

// Resources returns the coordination.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*coordinationv1.Lease]{
			GroupVersion: coordinationv1.SchemeGroupVersion,
			Resource:     "leases", Singular: "lease", Kind: "Lease", Namespaced: true,
			New:                 func() *coordinationv1.Lease { return &coordinationv1.Lease{} },
			NewList:             func() runtime.Object { return &coordinationv1.LeaseList{} },
			Validate:            coordinationvalidation.ValidateLease,
			ValidateUpdate:      coordinationvalidation.ValidateLeaseUpdate,
			AllowCreateOnUpdate: true,
			TableConvertor:      tables(coordinationv1.Resource("leases")),
		},
	}
}
