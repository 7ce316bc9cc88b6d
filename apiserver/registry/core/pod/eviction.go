package pod

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/util/retry"
)

// maxDisruptedPods is upstream's bound on a budget's disruptedPods map:
// beyond it, evictions wait for the disruption controller to catch up.
const maxDisruptedPods = 2000

// EvictionREST serves pods/eviction: a POST of a policy/v1 Eviction deletes
// the pod unless that would take its PodDisruptionBudget below what the
// budget allows, in which case the answer is 429 Too Many Requests.
type EvictionREST struct {
	pods *genericregistry.Store
	// budgets returns the poddisruptionbudgets store, built after core.
	budgets func() *genericregistry.Store
}

// NewEvictionREST serves evictions of pods, checked against budgets.
func NewEvictionREST(pods *genericregistry.Store, budgets func() *genericregistry.Store) *EvictionREST {
	return &EvictionREST{pods: pods, budgets: budgets}
}

var (
	_ rest.NamedCreater             = &EvictionREST{}
	_ rest.GroupVersionKindProvider = &EvictionREST{}
)

// New implements rest.Storage.
func (r *EvictionREST) New() runtime.Object { return &policyv1.Eviction{} }

// Destroy implements rest.Storage; the pod storage owns the store.
func (r *EvictionREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *EvictionREST) NamespaceScoped() bool { return true }

// GroupVersionKind implements rest.GroupVersionKindProvider.
func (r *EvictionREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return policyv1.SchemeGroupVersion.WithKind("Eviction")
}

// Create implements rest.NamedCreater.
func (r *EvictionREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	eviction, ok := obj.(*policyv1.Eviction)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not an Eviction: %T", obj))
	}
	if name != eviction.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	if createValidation != nil {
		if err := createValidation(ctx, eviction.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	deleteOptions := eviction.DeleteOptions
	if deleteOptions == nil {
		deleteOptions = &metav1.DeleteOptions{}
	}
	if len(options.DryRun) > 0 {
		deleteOptions = deleteOptions.DeepCopy()
		deleteOptions.DryRun = options.DryRun
	}
	obj, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod, err := assertPod(obj)
	if err != nil {
		return nil, err
	}
	if !budgetApplies(pod) {
		return r.deletePod(ctx, pod, deleteOptions)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error { return r.takeDisruption(ctx, pod, options.DryRun) })
	if err != nil {
		return nil, err
	}
	return r.deletePod(ctx, pod, deleteOptions)
}

// budgetApplies says whether evicting pod counts against a budget: not for
// a pod that has finished, never started or is already going.
func budgetApplies(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return false
	}
	return pod.DeletionTimestamp == nil
}

func (r *EvictionREST) deletePod(ctx context.Context, pod *corev1.Pod, options *metav1.DeleteOptions) (runtime.Object, error) {
	if _, _, err := r.pods.Delete(ctx, pod.Name, rest.ValidateAllObjectFunc, options); err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, nil
}

// takeDisruption checks the pod's budget and, where it allows a
// disruption, records this one in the budget's status.
func (r *EvictionREST) takeDisruption(ctx context.Context, pod *corev1.Pod, dryRun []string) error {
	budgets := r.budgets()
	if budgets == nil {
		return apierrors.NewInternalError(fmt.Errorf("poddisruptionbudgets storage is not available"))
	}
	list, err := budgets.List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		return err
	}
	var matching []policyv1.PodDisruptionBudget
	for _, pdb := range list.(*policyv1.PodDisruptionBudgetList).Items {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			matching = append(matching, pdb)
		}
	}
	switch len(matching) {
	case 0:
		return nil
	case 1:
	default:
		return apierrors.NewInternalError(fmt.Errorf("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdb := matching[0]
	tooMany := func(msg string) error {
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: msg})
		return err
	}
	if pdb.Status.ObservedGeneration < pdb.Generation {
		return tooMany(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
	}
	if !podReady(pod) {
		policy := policyv1.IfHealthyBudget
		if pdb.Spec.UnhealthyPodEvictionPolicy != nil {
			policy = *pdb.Spec.UnhealthyPodEvictionPolicy
		}
		if policy == policyv1.AlwaysAllow || (pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0) {
			return nil
		}
	}
	if pdb.Status.DisruptionsAllowed < 0 {
		return apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, fmt.Errorf("pdb disruptions allowed is negative"))
	}
	if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
		return apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, fmt.Errorf("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	}
	if pdb.Status.DisruptionsAllowed == 0 {
		return tooMany(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
	}
	if len(dryRun) > 0 {
		return nil
	}
	key, err := budgets.KeyFunc(ctx, pdb.Name)
	if err != nil {
		return err
	}
	rv := pdb.ResourceVersion
	err = budgets.Storage.GuaranteedUpdate(ctx, key, &policyv1.PodDisruptionBudget{}, false, &storage.Preconditions{ResourceVersion: &rv},
		storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
			b := obj.(*policyv1.PodDisruptionBudget)
			b.Status.DisruptionsAllowed--
			if b.Status.DisruptedPods == nil {
				b.Status.DisruptedPods = map[string]metav1.Time{}
			}
			b.Status.DisruptedPods[pod.Name] = metav1.NewTime(time.Now())
			return b, nil
		}), false, nil)
	if storage.IsInvalidObj(err) {
		// The budget changed since it was read: check it again.
		return apierrors.NewConflict(policyv1.Resource("poddisruptionbudgets"), pdb.Name, err)
	}
	return err
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
