package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers/internal/history"
)

// syncer is one reconcile of one set.
type syncer struct {
	r   *Reconciler
	set *appsv1.StatefulSet
	now time.Time

	currentRev, updateRev           *appsv1.ControllerRevision
	currentTemplate, updateTemplate *corev1.PodTemplateSpec

	requeueAfter time.Duration
}

func (s *syncer) requeue(d time.Duration) {
	if d > 0 && (s.requeueAfter == 0 || d < s.requeueAfter) {
		s.requeueAfter = d
	}
}

// revisions finds or creates the update revision (the set's template) and
// the current revision (status.currentRevision, else the update one).
func (s *syncer) revisions(ctx context.Context, revs []*appsv1.ControllerRevision) (int32, error) {
	set := s.set
	var collisions int32
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	data, err := history.TemplatePatch(&set.Spec.Template)
	if err != nil {
		return collisions, err
	}
	candidate := history.New(set, setKind, set.Spec.Template.Labels, data, history.Next(revs), &collisions)
	if len(set.Annotations) > 0 {
		candidate.Annotations = copyMap(set.Annotations)
	}
	equal := history.FindEqual(revs, candidate)
	switch {
	case len(equal) > 0 && equal[len(equal)-1] == revs[len(revs)-1]:
		s.updateRev = revs[len(revs)-1]
	case len(equal) > 0:
		// A rollback to an earlier template: it becomes the newest revision.
		s.updateRev, err = history.UpdateRevision(ctx, s.r.Client, equal[len(equal)-1], candidate.Revision)
	default:
		s.updateRev, err = history.Create(ctx, s.r.Client, candidate, &collisions)
	}
	if err != nil {
		return collisions, err
	}
	for _, rev := range revs {
		if rev.Name == set.Status.CurrentRevision {
			s.currentRev = rev
			break
		}
	}
	if s.currentRev == nil || s.currentRev.Name == s.updateRev.Name {
		s.currentRev = s.updateRev
	}
	if s.updateTemplate, err = history.TemplateFromPatch(s.updateRev.Data.Raw); err != nil {
		return collisions, err
	}
	if s.currentTemplate, err = history.TemplateFromPatch(s.currentRev.Data.Raw); err != nil {
		return collisions, err
	}
	return collisions, nil
}

// newReplica is the pod to create for ordinal: at the current revision
// below the partition of a rolling update, else at the update revision.
func (s *syncer) newReplica(ordinal int) *corev1.Pod {
	set := s.set
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType || set.Spec.UpdateStrategy.Type == "" {
		var below bool
		if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
			below = ordinal < startOrdinal(set)+int(*ru.Partition)
		} else if ru == nil {
			below = ordinal < startOrdinal(set)+int(set.Status.CurrentReplicas)
		}
		if below && s.currentRev.Name != s.updateRev.Name {
			return newPod(set, s.currentTemplate, ordinal, s.currentRev.Name)
		}
	}
	return newPod(set, s.updateTemplate, ordinal, s.updateRev.Name)
}

// sync is upstream's updateStatefulSet: it returns the status to write.
func (s *syncer) sync(ctx context.Context, revs []*appsv1.ControllerRevision, pods []*corev1.Pod) (*appsv1.StatefulSetStatus, error) {
	log := ctrl.LoggerFrom(ctx)
	set := s.set
	collisions, err := s.revisions(ctx, revs)
	if err != nil {
		// Keep a bumped collision count even when creation failed.
		if set.Status.CollisionCount == nil || *set.Status.CollisionCount != collisions {
			st := set.Status.DeepCopy()
			st.CollisionCount = &collisions
			return st, err
		}
		return nil, err
	}
	status := &appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    s.currentRev.Name,
		UpdateRevision:     s.updateRev.Name,
		CollisionCount:     &collisions,
	}

	start, n := startOrdinal(set), replicasOf(set)
	replicas := make([]*corev1.Pod, n)
	var condemned []*corev1.Pod
	for _, pod := range pods {
		o := ordinalOf(pod)
		if o >= start && o < start+n {
			replicas[o-start] = pod
		} else if o >= 0 {
			condemned = append(condemned, pod)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = s.newReplica(start + i)
		}
	}
	sortByOrdinal(condemned, true)

	var firstUnhealthy *corev1.Pod
	for _, group := range [][]*corev1.Pod{replicas, condemned} {
		for _, p := range group {
			if !isHealthy(p) && firstUnhealthy == nil {
				firstUnhealthy = p
			}
		}
	}
	finish := func() *appsv1.StatefulSetStatus {
		s.countStatus(status, replicas, condemned)
		s.completeRollingUpdate(status)
		return status
	}
	if set.DeletionTimestamp != nil {
		return finish(), nil
	}
	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement

	for i := range replicas {
		stop, err := s.processReplica(ctx, monotonic, replicas, i)
		if err != nil || stop {
			return finish(), err
		}
	}
	for _, pod := range condemned {
		if err := s.fixClaims(ctx, pod); err != nil {
			return finish(), err
		}
	}
	for _, pod := range condemned {
		if isTerminating(pod) {
			if monotonic {
				return finish(), nil
			}
			continue
		}
		if monotonic && pod != firstUnhealthy &&
			(!isRunningAndReady(pod) || !isRunningAndAvailable(pod, set.Spec.MinReadySeconds, s.now)) {
			s.requeueForAvailability(pod)
			return finish(), nil
		}
		log.V(2).Info("Pod of StatefulSet is terminating for scale down", "pod", pod.Name)
		if err := s.deletePod(ctx, pod); err != nil {
			return finish(), err
		}
		if monotonic {
			return finish(), nil
		}
	}
	st := finish()
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return st, nil
	}
	return st, s.rollingUpdate(ctx, st, replicas)
}

func (s *syncer) requeueForAvailability(pod *corev1.Pod) {
	if d := availableIn(pod, s.set.Spec.MinReadySeconds, s.now); d > 0 {
		s.requeue(d)
	}
}

// processReplica handles replica i; stop says to go no further this round.
func (s *syncer) processReplica(ctx context.Context, monotonic bool, replicas []*corev1.Pod, i int) (bool, error) {
	set, pod := s.set, replicas[i]
	if isFinished(pod) {
		// A failed or succeeded pod is replaced once it is gone.
		if !isTerminating(pod) {
			ctrl.LoggerFrom(ctx).V(2).Info("Pod of StatefulSet has finished, recreating", "pod", pod.Name, "phase", pod.Status.Phase)
			if err := s.deletePod(ctx, pod); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	if !isCreated(pod) {
		stale, err := s.claimsStale(ctx, pod)
		if err != nil || stale {
			if stale {
				s.requeue(time.Second)
			}
			return true, err
		}
		created, err := s.createPod(ctx, pod)
		if err != nil {
			return true, err
		}
		if !created || monotonic {
			return true, nil
		}
		return false, nil
	}
	if isPending(pod) {
		if err := s.createClaims(ctx, pod); err != nil {
			return true, err
		}
	}
	if monotonic {
		if isTerminating(pod) || !isRunningAndReady(pod) {
			return true, nil
		}
		if !isRunningAndAvailable(pod, set.Spec.MinReadySeconds, s.now) {
			s.requeueForAvailability(pod)
			return true, nil
		}
	}
	if !identityMatches(set, pod) {
		upd := pod.DeepCopy()
		setIdentityLabels(upd)
		if err := s.r.Client.Update(ctx, upd); err != nil {
			s.r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedUpdate", "update Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
			return true, fmt.Errorf("update pod %s: %w", pod.Name, err)
		}
		s.r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulUpdate", "update Pod %s in StatefulSet %s successful", pod.Name, set.Name)
		replicas[i] = upd
	}
	return false, s.fixClaims(ctx, replicas[i])
}

// claimsStale reports whether a claim of a pod about to be created still
// belongs to an earlier pod of the same name (the garbage collector will
// delete it under a whenScaled: Delete policy).
func (s *syncer) claimsStale(ctx context.Context, pod *corev1.Pod) (bool, error) {
	for _, want := range claimsFor(s.set, ordinalOf(pod)) {
		got := &corev1.PersistentVolumeClaim{}
		if err := s.r.Client.Get(ctx, client.ObjectKeyFromObject(&want), got); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return false, fmt.Errorf("get claim %s: %w", want.Name, err)
		}
		if hasStaleRef(got, pod, podKind) {
			return true, nil
		}
	}
	return false, nil
}

// createClaims creates the claims pod needs that do not exist yet.
func (s *syncer) createClaims(ctx context.Context, pod *corev1.Pod) error {
	set := s.set
	for _, want := range claimsFor(set, ordinalOf(pod)) {
		got := &corev1.PersistentVolumeClaim{}
		err := s.r.Client.Get(ctx, client.ObjectKeyFromObject(&want), got)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			s.r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %s", want.Name, pod.Name, set.Name, err)
			return fmt.Errorf("get claim %s: %w", want.Name, err)
		}
		want.OwnerReferences, _ = desiredClaimRefs(set, pod, &want)
		if err := s.r.Client.Create(ctx, &want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			s.r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %s", want.Name, pod.Name, set.Name, err)
			return fmt.Errorf("create claim %s: %w", want.Name, err)
		}
		s.r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", want.Name, pod.Name, set.Name)
	}
	return nil
}

// fixClaims makes the ownerReferences of pod's existing claims follow the
// retention policy.
func (s *syncer) fixClaims(ctx context.Context, pod *corev1.Pod) error {
	if pod.UID == "" {
		return nil
	}
	for _, want := range claimsFor(s.set, ordinalOf(pod)) {
		got := &corev1.PersistentVolumeClaim{}
		if err := s.r.Client.Get(ctx, client.ObjectKeyFromObject(&want), got); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return fmt.Errorf("get claim %s: %w", want.Name, err)
		}
		refs, changed := desiredClaimRefs(s.set, pod, got)
		if !changed {
			continue
		}
		upd := got.DeepCopy()
		upd.OwnerReferences = refs
		if err := s.r.Client.Update(ctx, upd); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				s.requeue(time.Second)
				continue
			}
			return fmt.Errorf("update owners of claim %s: %w", want.Name, err)
		}
	}
	return nil
}

// createPod creates pod's claims, then pod. created is false when the pod
// already existed (the cache had not shown it yet).
func (s *syncer) createPod(ctx context.Context, pod *corev1.Pod) (bool, error) {
	set := s.set
	if err := s.createClaims(ctx, pod); err != nil {
		s.r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		return false, err
	}
	if err := s.r.Client.Create(ctx, pod); err != nil {
		if apierrors.IsAlreadyExists(err) {
			s.requeue(time.Second)
			return false, nil
		}
		s.r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		return false, fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	s.r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return true, nil
}

// deletePod deletes exactly this pod (by UID, so a newer pod of the same
// name the cache has not shown yet is safe).
func (s *syncer) deletePod(ctx context.Context, pod *corev1.Pod) error {
	set := s.set
	uid := pod.UID
	if err := s.r.Client.Delete(ctx, pod, client.Preconditions{UID: &uid}); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		s.r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		return fmt.Errorf("delete pod %s: %w", pod.Name, err)
	}
	s.r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// countStatus fills the replica counts from the pods as they are now.
func (s *syncer) countStatus(status *appsv1.StatefulSetStatus, replicas, condemned []*corev1.Pod) {
	status.Replicas, status.ReadyReplicas, status.AvailableReplicas = 0, 0, 0
	status.CurrentReplicas, status.UpdatedReplicas = 0, 0
	for _, group := range [][]*corev1.Pod{replicas, condemned} {
		for _, pod := range group {
			if !isCreated(pod) {
				continue
			}
			status.Replicas++
			if isRunningAndReady(pod) {
				status.ReadyReplicas++
				if isRunningAndAvailable(pod, s.set.Spec.MinReadySeconds, s.now) {
					status.AvailableReplicas++
				} else {
					s.requeueForAvailability(pod)
				}
			}
			if !isTerminating(pod) {
				if podRevision(pod) == status.CurrentRevision {
					status.CurrentReplicas++
				}
				if podRevision(pod) == status.UpdateRevision {
					status.UpdatedReplicas++
				}
			}
		}
	}
}

// completeRollingUpdate makes the update revision current once every
// replica runs it and is ready.
func (s *syncer) completeRollingUpdate(status *appsv1.StatefulSetStatus) {
	t := s.set.Spec.UpdateStrategy.Type
	if (t == appsv1.RollingUpdateStatefulSetStrategyType || t == "") &&
		status.UpdatedReplicas == status.Replicas && status.ReadyReplicas == status.Replicas {
		status.CurrentReplicas = status.UpdatedReplicas
		status.CurrentRevision = status.UpdateRevision
	}
}

// rollingUpdate deletes outdated replicas from the highest ordinal down to
// the partition: one at a time waiting for health, or, with maxUnavailable,
// as many as keep at most maxUnavailable replicas unavailable.
func (s *syncer) rollingUpdate(ctx context.Context, status *appsv1.StatefulSetStatus, replicas []*corev1.Pod) error {
	set := s.set
	log := ctrl.LoggerFrom(ctx)
	updateMin := 0
	var maxUnavailable *intstr.IntOrString
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil {
			updateMin = int(*ru.Partition)
		}
		maxUnavailable = ru.MaxUnavailable
	}
	outdated := func(p *corev1.Pod) bool {
		return isCreated(p) && podRevision(p) != s.updateRev.Name && !isTerminating(p)
	}
	if maxUnavailable == nil {
		for target := len(replicas) - 1; target >= updateMin; target-- {
			p := replicas[target]
			if outdated(p) {
				log.V(2).Info("Pod of StatefulSet is terminating for update", "pod", p.Name)
				if err := s.deletePod(ctx, p); err != nil {
					return err
				}
				status.CurrentReplicas--
				return nil
			}
			if !isHealthy(p) {
				return nil
			}
		}
		return nil
	}
	limit, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, intstr.FromInt32(1)), len(replicas), false)
	if err != nil || limit < 1 {
		limit = 1
	}
	unavailable := 0
	for _, p := range replicas {
		if !isHealthy(p) || !isRunningAndAvailable(p, set.Spec.MinReadySeconds, s.now) {
			unavailable++
		}
	}
	budget := limit - unavailable
	for target := len(replicas) - 1; target >= updateMin && budget > 0; target-- {
		p := replicas[target]
		if !outdated(p) {
			continue
		}
		log.V(2).Info("Pod of StatefulSet is terminating for update", "pod", p.Name)
		if err := s.deletePod(ctx, p); err != nil {
			return err
		}
		status.CurrentReplicas--
		budget--
	}
	return nil
}

// truncateHistory keeps at most revisionHistoryLimit revisions that no pod,
// nor the current or update revision, uses.
func (s *syncer) truncateHistory(ctx context.Context, revs []*appsv1.ControllerRevision, pods []*corev1.Pod, status *appsv1.StatefulSetStatus) error {
	live := map[string]bool{status.CurrentRevision: true, status.UpdateRevision: true}
	for _, p := range pods {
		live[podRevision(p)] = true
	}
	limit := int32(10)
	if s.set.Spec.RevisionHistoryLimit != nil {
		limit = *s.set.Spec.RevisionHistoryLimit
	}
	var known []*appsv1.ControllerRevision
	for _, r := range revs {
		if r.Name != s.updateRev.Name {
			known = append(known, r)
		}
	}
	return history.Truncate(ctx, s.r.Client, known, live, limit)
}
