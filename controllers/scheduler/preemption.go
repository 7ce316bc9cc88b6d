package scheduler

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/controllers/scheduler/framework"
)

// preempt is DefaultPreemption's PostFilter: it finds a node where deleting
// lower-priority pods makes the pod fit, deletes them and returns the node
// to nominate ("" if none; fitErr then carries the preemption message).
func (s *Scheduler) preempt(ctx context.Context, cs *framework.CycleState, snap *framework.Snapshot, fitErr *framework.FitError) string {
	log := klog.FromContext(ctx)
	pod := cs.Pod.Pod
	if ok, msg := framework.EligibleToPreempt(pod); !ok {
		fitErr.Diagnosis.PostFilterMsg = "preemption: " + msg
		return ""
	}
	// A pod whose nominated node still has terminating lower-priority pods
	// waits for them rather than preempting again.
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if ni, ok := snap.NodeInfoMap[nn]; ok {
			for _, p := range ni.Pods {
				if p.Pod.DeletionTimestamp != nil && framework.PodPriority(p.Pod) < framework.PodPriority(pod) {
					fitErr.Diagnosis.PostFilterMsg = "preemption: not eligible due to a terminating pod on the nominated node."
					return nn
				}
			}
		}
	}
	cands, msg := framework.FindCandidates(cs, snap, &fitErr.Diagnosis, s.pdbs(pod.Namespace), s.vols)
	if len(cands) == 0 {
		fitErr.Diagnosis.PostFilterMsg = msg
		return ""
	}
	best := framework.PickCandidate(cands)
	for _, victim := range best.Victims {
		if err := s.evict(ctx, pod, victim, best.Node); err != nil {
			log.Error(err, "preempting", "victim", klog.KObj(victim))
			return ""
		}
	}
	s.nominate(pod, best.Node)
	log.V(2).Info("preempted pods", "pod", klog.KObj(pod), "node", best.Node, "victims", len(best.Victims))
	return best.Node
}

func (s *Scheduler) pdbs(ns string) []framework.PDB {
	list, err := s.pdbLister.PodDisruptionBudgets(ns).List(labels.Everything())
	if err != nil {
		return nil
	}
	out := make([]framework.PDB, 0, len(list))
	for _, p := range list {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || p.Spec.Selector == nil {
			continue
		}
		out = append(out, framework.PDB{Namespace: p.Namespace, Selector: sel, DisruptionsAllowed: p.Status.DisruptionsAllowed})
	}
	return out
}

// evict marks the victim with a DisruptionTarget condition, deletes it and
// records Preempted, as upstream.
func (s *Scheduler) evict(ctx context.Context, preemptor, victim *v1.Pod, node string) error {
	v := victim.DeepCopy()
	has := false
	for _, c := range v.Status.Conditions {
		if c.Type == v1.DisruptionTarget {
			has = true
		}
	}
	if !has {
		v.Status.Conditions = append(v.Status.Conditions, v1.PodCondition{
			Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: v1.PodReasonPreemptionByScheduler,
			Message:            fmt.Sprintf("%s: preempting to accommodate a higher priority pod", s.cfg.SchedulerName),
			LastTransitionTime: metav1.Now(),
		})
		if _, err := s.client.CoreV1().Pods(v.Namespace).UpdateStatus(ctx, v, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("set DisruptionTarget on %s/%s: %w", v.Namespace, v.Name, err)
		}
	}
	uid := victim.UID
	err := s.client.CoreV1().Pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	s.recorder.Eventf(victim, v1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
	return nil
}
