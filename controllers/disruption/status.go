package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

// DeletionTimeout is how long a pod stays in status.disruptedPods after the
// eviction API admitted its eviction, waiting for it to be deleted.
const DeletionTimeout = 2 * time.Minute

// StalePodDisruptionTimeout is how long a DisruptionTarget=True condition
// may stay on a pod that is not being deleted before it is reset.
const StalePodDisruptionTimeout = 2 * time.Minute

// Counts are a PDB's computed status numbers.
type Counts struct {
	ExpectedPods       int32
	DesiredHealthy     int32
	CurrentHealthy     int32
	DisruptionsAllowed int32
}

// Desired computes expectedPods and desiredHealthy for pdb. scale is the
// summed replicas of the pods' controllers; it is only consulted (and only
// needs to be right) when the PDB uses maxUnavailable or a percentage
// minAvailable. podCount is how many pods the selector picks.
func Desired(pdb *policyv1.PodDisruptionBudget, podCount int32, scale func() (int32, error)) (expected, desiredHealthy int32, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, err = scale()
		if err != nil {
			return 0, 0, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
		}
		desiredHealthy = expected - int32(maxUnavailable)
		if desiredHealthy < 0 {
			desiredHealthy = 0
		}
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		expected = podCount
		desiredHealthy = pdb.Spec.MinAvailable.IntVal
	case pdb.Spec.MinAvailable != nil:
		expected, err = scale()
		if err != nil {
			return 0, 0, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, fmt.Errorf("minAvailable: %w", err)
		}
		desiredHealthy = int32(minAvailable)
	}
	return expected, desiredHealthy, nil
}

// DisruptedPods keeps the entries of pdb.status.disruptedPods whose pod
// exists, is not being deleted and was disrupted less than DeletionTimeout
// ago; expired lists the pods whose entries timed out without a deletion,
// and recheck is when the earliest kept entry expires (zero: none).
func DisruptedPods(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (kept map[string]metav1.Time, expired []*corev1.Pod, recheck time.Time) {
	kept = map[string]metav1.Time{}
	if pdb.Status.DisruptedPods == nil {
		return kept, nil, time.Time{}
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		t, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok {
			continue
		}
		end := t.Add(DeletionTimeout)
		if end.Before(now) {
			expired = append(expired, p)
			continue
		}
		kept[p.Name] = t
		if recheck.IsZero() || end.Before(recheck) {
			recheck = end
		}
	}
	return kept, expired, recheck
}

// CurrentHealthy counts the ready pods that are neither being deleted nor
// recently disrupted.
func CurrentHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if t, ok := disrupted[p.Name]; ok && t.Add(DeletionTimeout).After(now) {
			continue
		}
		if podcontrol.IsPodReady(p) {
			n++
		}
	}
	return n
}

// Allowed is disruptionsAllowed: currentHealthy - desiredHealthy, never
// negative, and zero while no pods are expected (so a PDB whose first pods
// appear before its status caught up is safe).
func Allowed(expected, currentHealthy, desiredHealthy int32) int32 {
	a := currentHealthy - desiredHealthy
	if expected <= 0 || a <= 0 {
		return 0
	}
	return a
}

// setAllowedCondition sets the DisruptionAllowed condition from
// status.disruptionsAllowed.
func setAllowedCondition(pdb *policyv1.PodDisruptionBudget) {
	if pdb.Status.Conditions == nil {
		pdb.Status.Conditions = []metav1.Condition{}
	}
	c := metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.InsufficientPodsReason,
		ObservedGeneration: pdb.Status.ObservedGeneration,
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&pdb.Status.Conditions, c)
}

// conditionUpToDate reports whether the DisruptionAllowed condition says
// what status.disruptionsAllowed implies.
func conditionUpToDate(pdb *policyv1.PodDisruptionBudget) bool {
	c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
	if c == nil || pdb.Status.ObservedGeneration != pdb.Generation || c.ObservedGeneration != pdb.Status.ObservedGeneration {
		return false
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		return c.Status == metav1.ConditionTrue && c.Reason == policyv1.SufficientPodsReason
	}
	return c.Status == metav1.ConditionFalse && c.Reason == policyv1.InsufficientPodsReason
}

// StaleDisruptionTarget reports whether pod carries a DisruptionTarget=True
// condition that this controller should reset, and how long until it may
// (zero: now). Conditions the kubelet set, and those on pods that finished
// or are being deleted, are never stale.
func StaleDisruptionTarget(pod *corev1.Pod, now time.Time) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, 0
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.DisruptionTarget {
			continue
		}
		if c.Status != corev1.ConditionTrue || c.Reason == corev1.PodReasonTerminationByKubelet {
			return false, 0
		}
		wait := StalePodDisruptionTimeout - now.Sub(c.LastTransitionTime.Time)
		if wait < 0 {
			wait = 0
		}
		return true, wait
	}
	return false, 0
}
