package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

// getAllReplicaSetsAndSyncRevision finds d's new ReplicaSet (creating it
// when create is set and there is none) and syncs revisions: the new one gets
// the next revision, d the new one's. It returns the new ReplicaSet (nil if
// none) and all old ones.
func (s *syncer) getAllReplicaSetsAndSyncRevision(ctx context.Context, rss []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	_, oldRSs := FindOldReplicaSets(FindNewReplicaSet(s.d, rss), rss)
	newRS, err := s.getNewReplicaSet(ctx, rss, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

// setDeploymentRevision writes revision into d's revision annotation.
func (s *syncer) setDeploymentRevision(ctx context.Context, revision string) error {
	if s.d.Annotations[RevisionAnnotation] == revision {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations":     map[string]string{RevisionAnnotation: revision},
		"resourceVersion": s.d.ResourceVersion,
	}})
	if err := s.client.Patch(ctx, s.d, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("set revision of deployment %s/%s: %w", s.d.Namespace, s.d.Name, err)
	}
	return nil
}

func (s *syncer) getNewReplicaSet(ctx context.Context, rss, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	d := s.d
	log := ctrl.LoggerFrom(ctx)
	newRevision := MaxRevision(oldRSs) + 1
	if existing := FindNewReplicaSet(d, rss); existing != nil {
		rsCopy := existing.DeepCopy()
		annotationsChanged := SetNewReplicaSetAnnotations(d, rsCopy, newRevision, true)
		if annotationsChanged || rsCopy.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rsCopy.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			if err := s.client.Update(ctx, rsCopy); err != nil {
				return nil, fmt.Errorf("update replicaset %s: %w", rsCopy.Name, err)
			}
			return rsCopy, nil
		}
		if err := s.setDeploymentRevision(ctx, rsCopy.Annotations[RevisionAnnotation]); err != nil {
			return nil, err
		}
		if HasProgressDeadline(d) && GetCondition(d.Status, appsv1.DeploymentProgressing) == nil {
			st := *d.Status.DeepCopy()
			SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewReplicaSet, fmt.Sprintf("Found new replica set %q", rsCopy.Name), s.now()))
			if err := s.updateStatus(ctx, st); err != nil {
				return nil, err
			}
		}
		return rsCopy, nil
	}
	if !create {
		return nil, nil
	}

	template := d.Spec.Template.DeepCopy()
	hash := ComputeHash(template, d.Status.CollisionCount)
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	template.Labels[PodTemplateHashLabel] = hash
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[PodTemplateHashLabel] = hash
	newRS := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*podcontrol.NewControllerRef(d, deploymentGVK)},
			Labels:          template.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To[int32](0),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *template,
		},
	}
	newRS.Spec.Replicas = ptr.To(NewRSNewReplicas(d, append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS), newRS))
	SetNewReplicaSetAnnotations(d, newRS, newRevision, false)

	alreadyExists := false
	err := s.client.Create(ctx, newRS.DeepCopy())
	switch {
	case apierrors.IsAlreadyExists(err):
		// Our cache may just lag our own create; if it is ours with our
		// template, use it. Otherwise the hash collided: bump collisionCount
		// so the next sync names it differently.
		var found appsv1.ReplicaSet
		if getErr := s.reader.Get(ctx, client.ObjectKeyFromObject(newRS), &found); getErr != nil {
			return nil, fmt.Errorf("get existing replicaset %s: %w", newRS.Name, getErr)
		}
		if ref := metav1.GetControllerOf(&found); ref != nil && ref.UID == d.UID && EqualIgnoreHash(&d.Spec.Template, &found.Spec.Template) {
			newRS = &found
			alreadyExists = true
			break
		}
		st := *d.Status.DeepCopy()
		st.CollisionCount = ptr.To(ptr.Deref(st.CollisionCount, 0) + 1)
		if uerr := s.updateStatus(ctx, st); uerr == nil {
			log.V(2).Info("Found a hash collision for deployment - bumping collisionCount", "replicaSet", newRS.Name, "collisionCount", *st.CollisionCount)
		}
		return nil, fmt.Errorf("replicaset %s exists with another template: %w", newRS.Name, err)
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", newRS.Name, err)
		if HasProgressDeadline(d) {
			st := *d.Status.DeepCopy()
			SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, s.now()))
			_ = s.updateStatus(ctx, st)
		}
		s.recorder.Event(d, corev1.EventTypeWarning, "FailedCreate", msg)
		return nil, fmt.Errorf("create replicaset %s: %w", newRS.Name, err)
	default:
		// Read back what the server stored (uid, creationTimestamp).
		var created appsv1.ReplicaSet
		if getErr := s.reader.Get(ctx, client.ObjectKeyFromObject(newRS), &created); getErr == nil {
			newRS = &created
		}
	}
	if !alreadyExists && rsReplicas(newRS) > 0 {
		s.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", newRS.Name, rsReplicas(newRS))
	}
	if err := s.setDeploymentRevision(ctx, strconv.FormatInt(newRevision, 10)); err != nil {
		return nil, err
	}
	if !alreadyExists && HasProgressDeadline(d) {
		st := *s.d.Status.DeepCopy()
		SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetCreated, fmt.Sprintf("Created new replica set %q", newRS.Name), s.now()))
		if err := s.updateStatus(ctx, st); err != nil {
			return nil, err
		}
	}
	return newRS, nil
}

// scale resizes d's ReplicaSets to d's replica count without rolling out:
// the one active (or newest) ReplicaSet takes all of it; otherwise, during a
// rolling update, the difference is spread in proportion to each active
// ReplicaSet's size.
func (s *syncer) scale(ctx context.Context, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) error {
	d := s.d
	if rs := FindActiveOrLatest(newRS, oldRSs); rs != nil {
		if rsReplicas(rs) == Replicas(d) {
			return nil
		}
		_, err := s.scaleReplicaSet(ctx, rs, Replicas(d))
		return err
	}
	if IsSaturated(d, newRS) {
		for _, old := range activeReplicaSets(oldRSs) {
			if _, err := s.scaleReplicaSet(ctx, old, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !IsRollingUpdate(d) {
		return nil
	}
	all := activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS))
	var allowed int32
	if Replicas(d) > 0 {
		allowed = Replicas(d) + MaxSurge(d)
	}
	toAdd := allowed - SpecReplicas(all)
	switch {
	case toAdd > 0:
		sort.Sort(bySizeNewer(all))
	case toAdd < 0:
		sort.Sort(bySizeOlder(all))
	}
	sizes := ProportionalSizes(d, all, toAdd)
	for i, rs := range all {
		if _, err := s.scaleReplicaSet(ctx, rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// ProportionalSizes is the new size of each of all (sorted largest first)
// when toAdd pods are added (or removed, if negative) across them; the
// rounding leftover goes to the first.
func ProportionalSizes(d *appsv1.Deployment, all []*appsv1.ReplicaSet, toAdd int32) []int32 {
	sizes := make([]int32, len(all))
	var added int32
	for i, rs := range all {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if toAdd != 0 && len(all) > 0 {
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	return sizes
}

// scaleReplicaSet sets rs's replicas (and its desired/max-replicas
// annotations) and records the ScalingReplicaSet event; rs is updated in
// place. It reports whether the size changed.
func (s *syncer) scaleReplicaSet(ctx context.Context, rs *appsv1.ReplicaSet, newScale int32) (bool, error) {
	d := s.d
	oldScale := rsReplicas(rs)
	rsCopy := rs.DeepCopy()
	sizeChanged := oldScale != newScale
	annotationsChanged := SetReplicasAnnotations(rsCopy, Replicas(d), Replicas(d)+MaxSurge(d))
	if !sizeChanged && !annotationsChanged {
		return false, nil
	}
	rsCopy.Spec.Replicas = ptr.To(newScale)
	if err := s.client.Update(ctx, rsCopy); err != nil {
		return false, fmt.Errorf("scale replicaset %s to %d: %w", rs.Name, newScale, err)
	}
	*rs = *rsCopy
	if sizeChanged {
		op := "up"
		if newScale < oldScale {
			op = "down"
		}
		s.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.Name, oldScale, newScale)
	}
	return sizeChanged, nil
}

// cleanup deletes the oldest old ReplicaSets that have no pods left, beyond
// revisionHistoryLimit.
func (s *syncer) cleanup(ctx context.Context, oldRSs []*appsv1.ReplicaSet) error {
	d := s.d
	if d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	sort.Sort(byRevision(alive))
	log := ctrl.LoggerFrom(ctx)
	for i := 0; i < diff; i++ {
		rs := alive[i]
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration || rs.DeletionTimestamp != nil {
			continue
		}
		log.V(2).Info("Deleting old replica set", "replicaSet", rs.Name, "revision", Revision(rs))
		uid := rs.UID
		if err := s.client.Delete(ctx, rs, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", rs.Name, err)
		}
	}
	return nil
}

// syncRolloutStatus reports status and the Progressing and ReplicaFailure
// conditions during a rollout, and asks to be called again by the progress
// deadline.
func (s *syncer) syncRolloutStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	d := s.d
	now := s.now()
	st := CalculateStatus(d, all, newRS, now)
	if !HasProgressDeadline(d) {
		RemoveCondition(&st, appsv1.DeploymentProgressing)
	}
	cur := GetCondition(d.Status, appsv1.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewReplicaSetAvailable
	if HasProgressDeadline(d) && !complete {
		switch {
		case DeploymentComplete(d, &st):
			msg := fmt.Sprintf("Deployment %q has successfully progressed.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name)
			}
			SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable, msg, now))
		case DeploymentProgressing(d, &st):
			msg := fmt.Sprintf("Deployment %q is progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name)
			}
			c := NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated, msg, now)
			// Progress refreshes lastUpdateTime even with the same reason.
			if cur != nil && cur.Status == corev1.ConditionTrue {
				c.LastTransitionTime = cur.LastTransitionTime
			}
			RemoveCondition(&st, appsv1.DeploymentProgressing)
			SetCondition(&st, c)
		case DeploymentTimedOut(d, &st, now):
			msg := fmt.Sprintf("Deployment %q has timed out progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name)
			}
			SetCondition(&st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonProgressDeadlineExceeded, msg, now))
		}
	}
	if f := replicaFailure(all, newRS); f != nil {
		SetCondition(&st, *f)
	} else {
		RemoveCondition(&st, appsv1.DeploymentReplicaFailure)
	}
	s.requeueAfter = requeueStuck(d, &st, now)
	if equalStatus(d.Status, st) {
		return nil
	}
	return s.updateStatus(ctx, st)
}

func equalStatus(a, b appsv1.DeploymentStatus) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// requeueStuck is when to look again at a Deployment still progressing, to
// notice it exceed its progress deadline (0: no need).
func requeueStuck(d *appsv1.Deployment, st *appsv1.DeploymentStatus, now time.Time) time.Duration {
	c := GetCondition(*st, appsv1.DeploymentProgressing)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason != ReasonReplicaSetUpdated || !HasProgressDeadline(d) || DeploymentComplete(d, st) {
		return 0
	}
	after := c.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
	if after < time.Second {
		return 100 * time.Millisecond
	}
	return after + time.Second
}

// replicaFailure is the ReplicaFailure condition of the new ReplicaSet, or
// else of any of them, as a Deployment condition.
func replicaFailure(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	for _, rs := range append([]*appsv1.ReplicaSet{newRS}, all...) {
		if rs == nil {
			continue
		}
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure {
				return &appsv1.DeploymentCondition{
					Type:               appsv1.DeploymentReplicaFailure,
					Status:             c.Status,
					LastUpdateTime:     c.LastTransitionTime,
					LastTransitionTime: c.LastTransitionTime,
					Reason:             c.Reason,
					Message:            c.Message,
				}
			}
		}
	}
	return nil
}
