package deployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// rolloutRecreate scales every old ReplicaSet to zero, waits until none of
// their pods runs, then creates (or scales up) the new one.
func (s *syncer) rolloutRecreate(ctx context.Context, rss []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(ctx, rss, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown := false
	for _, rs := range activeReplicaSets(oldRSs) {
		changed, err := s.scaleReplicaSet(ctx, rs, 0)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || changed
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, all, newRS)
	}
	running, err := s.oldPodsRunning(ctx, newRS, oldRSs)
	if err != nil {
		return err
	}
	if running {
		return s.syncRolloutStatus(ctx, all, newRS)
	}
	if newRS == nil {
		newRS, oldRSs, err = s.getAllReplicaSetsAndSyncRevision(ctx, rss, true)
		if err != nil {
			return err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, err := s.scaleReplicaSet(ctx, newRS, Replicas(s.d)); err != nil {
		return err
	}
	if DeploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(ctx, oldRSs); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, all, newRS)
}

// oldPodsRunning: an old ReplicaSet still reports pods, or one of its pods
// has not finished (Running, Pending, Unknown, or terminating).
func (s *syncer) oldPodsRunning(ctx context.Context, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) (bool, error) {
	if StatusReplicas(oldRSs) > 0 {
		return true, nil
	}
	pods, err := s.podsByReplicaSet(ctx, oldRSs)
	if err != nil {
		return false, err
	}
	for uid, ps := range pods {
		if newRS != nil && uid == newRS.UID {
			continue
		}
		for _, p := range ps {
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true, nil
			}
		}
	}
	return false, nil
}
