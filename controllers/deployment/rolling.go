package deployment

import (
	"context"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling moves a RollingUpdate Deployment one step: scale the new
// ReplicaSet up within maxSurge, or old ones down within maxUnavailable, then
// report.
func (s *syncer) rolloutRolling(ctx context.Context, rss []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(ctx, rss, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledUp, err := s.reconcileNewReplicaSet(ctx, all, newRS)
	if err != nil {
		return err
	}
	if scaledUp {
		return s.syncRolloutStatus(ctx, all, newRS)
	}
	scaledDown, err := s.reconcileOldReplicaSets(ctx, all, activeReplicaSets(oldRSs), newRS)
	if err != nil {
		return err
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, all, newRS)
	}
	if DeploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(ctx, oldRSs); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, all, newRS)
}

func (s *syncer) reconcileNewReplicaSet(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	want := Replicas(s.d)
	switch cur := rsReplicas(newRS); {
	case cur == want:
		return false, nil
	case cur > want:
		return s.scaleReplicaSet(ctx, newRS, want)
	}
	return s.scaleReplicaSet(ctx, newRS, NewRSNewReplicas(s.d, all, newRS))
}

// reconcileOldReplicaSets scales old ReplicaSets down as far as
// maxUnavailable allows: unhealthy replicas first (they do not count as
// available anyway), then the oldest ReplicaSets' available ones.
func (s *syncer) reconcileOldReplicaSets(ctx context.Context, all, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	d := s.d
	if SpecReplicas(oldRSs) == 0 {
		return false, nil
	}
	minAvailable := Replicas(d) - MaxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - newRS.Status.AvailableReplicas
	maxScaledDown := SpecReplicas(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	cleaned, err := s.cleanupUnhealthyReplicas(ctx, oldRSs, maxScaledDown)
	if err != nil {
		return false, err
	}
	scaled, err := s.scaleDownOldForRollingUpdate(ctx, all, oldRSs)
	if err != nil {
		return false, err
	}
	return cleaned+scaled > 0, nil
}

func (s *syncer) cleanupUnhealthyReplicas(ctx context.Context, oldRSs []*appsv1.ReplicaSet, maxCleanup int32) (int32, error) {
	sort.Sort(byCreation(oldRSs))
	var total int32
	for _, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		if rsReplicas(rs) == 0 || rsReplicas(rs) <= rs.Status.AvailableReplicas {
			continue
		}
		n := min(maxCleanup-total, rsReplicas(rs)-rs.Status.AvailableReplicas)
		if _, err := s.scaleReplicaSet(ctx, rs, rsReplicas(rs)-n); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (s *syncer) scaleDownOldForRollingUpdate(ctx context.Context, all, oldRSs []*appsv1.ReplicaSet) (int32, error) {
	d := s.d
	minAvailable := Replicas(d) - MaxUnavailable(d)
	// A ReplicaSet just scaled down may still report the available pods it
	// is about to delete: count at most its spec.replicas, so a lagging
	// status never lets availability drop below minAvailable.
	var available int32
	for _, rs := range all {
		if rs != nil {
			available += min(rs.Status.AvailableReplicas, rsReplicas(rs))
		}
	}
	if available <= minAvailable {
		return 0, nil
	}
	sort.Sort(byCreation(oldRSs))
	budget := available - minAvailable
	var total int32
	for _, rs := range oldRSs {
		if total >= budget {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		n := min(rsReplicas(rs), budget-total)
		if _, err := s.scaleReplicaSet(ctx, rs, rsReplicas(rs)-n); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
