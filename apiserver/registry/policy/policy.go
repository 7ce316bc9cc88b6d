// Package policy declares policy/v1 PodDisruptionBudgets with their status
// subresource; pods/eviction, in the core registry, honours them.
package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	policyvalidation "github.com/skiff-dev/skiff/apiserver/validation/policy"
)

// Resources returns the policy/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*policyv1.PodDisruptionBudget]{
			GroupVersion: policyv1.SchemeGroupVersion, Resource: "poddisruptionbudgets", Singular: "poddisruptionbudget",
			Kind: "PodDisruptionBudget", Namespaced: true,
			ShortNames:     []string{"pdb"},
			Validate:       policyvalidation.ValidatePodDisruptionBudget,
			ValidateUpdate: policyvalidation.ValidatePodDisruptionBudgetUpdate,
			New:            func() *policyv1.PodDisruptionBudget { return &policyv1.PodDisruptionBudget{} },
			NewList:        func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
			Generation:     true,
			Status:         &registry.Status[*policyv1.PodDisruptionBudget]{ValidateUpdate: policyvalidation.ValidatePodDisruptionBudgetStatusUpdate},
			TableConvertor: tables(policyv1.Resource("poddisruptionbudgets")),
		},
	}
}
