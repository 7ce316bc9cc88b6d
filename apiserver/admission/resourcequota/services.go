package resourcequota

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
)

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }

var (
	servicesResource = schema.GroupResource{Resource: "services"}
	serviceCountName = generic.ObjectCountQuotaResourceNameFor(servicesResource)
	pvcResource      = schema.GroupResource{Resource: "persistentvolumeclaims"}
	pvcCountName     = generic.ObjectCountQuotaResourceNameFor(pvcResource)
)

var serviceResourceNames = []corev1.ResourceName{
	serviceCountName, corev1.ResourceServices,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// serviceEvaluator counts services, load balancers and node ports.
type serviceEvaluator struct{ list generic.ListFuncByNamespace }

var _ quota.Evaluator = (*serviceEvaluator)(nil)

func (e *serviceEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error { return nil }

func (e *serviceEvaluator) GroupResource() schema.GroupResource { return servicesResource }

// Handles service creates and updates (a type change moves usage).
func (e *serviceEvaluator) Handles(a admission.Attributes) bool {
	op := a.GetOperation()
	return a.GetSubresource() == "" && (op == admission.Create || op == admission.Update)
}

func (e *serviceEvaluator) Matches(q *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(q, item, e.MatchingResources, generic.MatchesNoScopeFunc)
}

func (e *serviceEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	return quota.Intersection(input, serviceResourceNames)
}

func (e *serviceEvaluator) MatchingScopes(runtime.Object, []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

func (e *serviceEvaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

// Usage is one service; a LoadBalancer adds one load balancer and, unless
// it opts out of node ports, one node port per port, as a NodePort does.
func (e *serviceEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	svc, ok := item.(*corev1.Service)
	if !ok {
		return nil, fmt.Errorf("expect *v1.Service, got %T", item)
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	out := corev1.ResourceList{corev1.ResourceServices: one, serviceCountName: one}
	ports := *resource.NewQuantity(int64(len(svc.Spec.Ports)), resource.DecimalSI)
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		out[corev1.ResourceServicesNodePorts] = ports
	case corev1.ServiceTypeLoadBalancer:
		out[corev1.ResourceServicesLoadBalancers] = one
		if svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts {
			out[corev1.ResourceServicesNodePorts] = ports
		}
	}
	return out, nil
}

func (e *serviceEvaluator) UsageStats(o quota.UsageStatsOptions) (quota.UsageStats, error) {
	return usageStats(o, e.list, generic.MatchesNoScopeFunc, e.Usage)
}

// pvcEvaluator counts claims and their requested storage, overall and per
// storage class.
type pvcEvaluator struct{ list generic.ListFuncByNamespace }

var _ quota.Evaluator = (*pvcEvaluator)(nil)

// storageClassSuffix ends the per-class quota resource names.
const storageClassSuffix = ".storageclass.storage.k8s.io/"

func (e *pvcEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error { return nil }

func (e *pvcEvaluator) GroupResource() schema.GroupResource { return pvcResource }

// Handles claim creates and updates (an expansion raises requested storage).
func (e *pvcEvaluator) Handles(a admission.Attributes) bool {
	op := a.GetOperation()
	return a.GetSubresource() == "" && (op == admission.Create || op == admission.Update)
}

func (e *pvcEvaluator) Matches(q *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(q, item, e.MatchingResources, generic.MatchesNoScopeFunc)
}

func (e *pvcEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	out := []corev1.ResourceName{}
	for _, r := range input {
		switch {
		case r == pvcCountName, r == corev1.ResourcePersistentVolumeClaims, r == corev1.ResourceRequestsStorage:
			out = append(out, r)
		case strings.Contains(string(r), storageClassSuffix):
			suffix := string(r)[strings.Index(string(r), storageClassSuffix)+len(storageClassSuffix):]
			if suffix == string(corev1.ResourcePersistentVolumeClaims) || suffix == string(corev1.ResourceRequestsStorage) {
				out = append(out, r)
			}
		}
	}
	return out
}

func (e *pvcEvaluator) MatchingScopes(runtime.Object, []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

func (e *pvcEvaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

// Usage is one claim plus its storage request (the larger of spec and
// allocated), also under the claim's storage class.
func (e *pvcEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	pvc, ok := item.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil, fmt.Errorf("expect *v1.PersistentVolumeClaim, got %T", item)
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	out := corev1.ResourceList{corev1.ResourcePersistentVolumeClaims: one, pvcCountName: one}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class != "" {
		out[corev1.ResourceName(class+storageClassSuffix+string(corev1.ResourcePersistentVolumeClaims))] = one
	}
	storage, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if allocated, has := pvc.Status.AllocatedResources[corev1.ResourceStorage]; has && (!ok || allocated.Cmp(storage) > 0) {
		storage, ok = allocated, true
	}
	if ok {
		out[corev1.ResourceRequestsStorage] = storage
		if class != "" {
			out[corev1.ResourceName(class+storageClassSuffix+string(corev1.ResourceRequestsStorage))] = storage
		}
	}
	return out, nil
}

func (e *pvcEvaluator) UsageStats(o quota.UsageStatsOptions) (quota.UsageStats, error) {
	return usageStats(o, e.list, generic.MatchesNoScopeFunc, e.Usage)
}
