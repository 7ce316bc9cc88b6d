package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers/internal/history"
)

// syncer is one reconcile of one DaemonSet.
type syncer struct {
	r     *Reconciler
	ds    *appsv1.DaemonSet
	key   types.NamespacedName
	nodes []*corev1.Node
	pods  []*corev1.Pod
	now   time.Time

	cur        *appsv1.ControllerRevision
	old        []*appsv1.ControllerRevision
	hash       string
	collisions int32

	requeueAfter time.Duration
}

func (s *syncer) requeue(d time.Duration) {
	if d > 0 && (s.requeueAfter == 0 || d < s.requeueAfter) {
		s.requeueAfter = d
	}
}

// constructHistory finds the revision holding the current template (the
// newest of equal ones, renumbered past the others) or creates it, and
// sets s.hash to its hash label.
func (s *syncer) constructHistory(ctx context.Context, revs []*appsv1.ControllerRevision) error {
	ds := s.ds
	if ds.Status.CollisionCount != nil {
		s.collisions = *ds.Status.CollisionCount
	}
	data, err := history.TemplatePatch(&ds.Spec.Template)
	if err != nil {
		return err
	}
	candidate := history.New(ds, dsKind, ds.Spec.Template.Labels, data, 0, &s.collisions)
	var current []*appsv1.ControllerRevision
	for _, rev := range revs {
		if history.Equal(rev, candidate) {
			current = append(current, rev)
		} else {
			s.old = append(s.old, rev)
		}
	}
	next := history.Next(s.old)
	switch len(current) {
	case 0:
		candidate.Revision = next
		s.cur, err = history.Create(ctx, s.r.Client, candidate, &s.collisions)
		if err != nil {
			return err
		}
	default:
		s.cur, err = s.dedup(ctx, current)
		if err != nil {
			return err
		}
		if s.cur.Revision < next {
			if s.cur, err = history.UpdateRevision(ctx, s.r.Client, s.cur, next); err != nil {
				return err
			}
		}
	}
	s.hash = s.cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	if s.hash == "" {
		s.hash = s.cur.Name
	}
	return nil
}

// dedup keeps the newest of several revisions of the current template,
// relabels pods of the others with its hash and deletes them.
func (s *syncer) dedup(ctx context.Context, current []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	keep := current[len(current)-1] // revs are sorted
	if len(current) == 1 {
		return keep, nil
	}
	keepHash := keep.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	for _, dup := range current[:len(current)-1] {
		dupHash := dup.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
		for _, pod := range s.pods {
			if dupHash == "" || pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != dupHash {
				continue
			}
			patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, appsv1.DefaultDaemonSetUniqueLabelKey, keepHash)
			if err := s.r.Client.Patch(ctx, pod.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("relabel pod %s: %w", pod.Name, err)
			}
		}
		if err := s.r.Client.Delete(ctx, dup); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete duplicate revision %s: %w", dup.Name, err)
		}
	}
	return keep, nil
}

// nodeToPods groups the DaemonSet's pods by the node they are on or meant
// for, leaving out terminal pods already being deleted.
func (s *syncer) nodeToPods() map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, pod := range s.pods {
		terminal := pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
		if terminal && pod.DeletionTimestamp != nil {
			continue
		}
		if n := targetNode(pod); n != "" {
			out[n] = append(out[n], pod)
		}
	}
	return out
}

// manage creates the daemon pods nodes lack and deletes those that must
// go: on nodes they no longer fit, failed ones, and extras.
func (s *syncer) manage(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx)
	ds := s.ds
	byNode := s.nodeToPods()
	var create []string
	var remove []*corev1.Pod
	exists := map[string]bool{}
	for _, node := range s.nodes {
		exists[node.Name] = true
		run, keep := shouldRun(ds, node)
		pods := byNode[node.Name]
		switch {
		case run && len(pods) == 0:
			create = append(create, node.Name)
		case keep:
			var running []*corev1.Pod
			for _, pod := range pods {
				if pod.DeletionTimestamp != nil {
					continue
				}
				if pod.Status.Phase == corev1.PodFailed {
					key := ds.Namespace + "/" + ds.Name + "/" + node.Name
					if s.r.backoff.IsInBackOffSinceUpdate(key, s.now) {
						s.requeue(s.r.backoff.Get(key))
						continue
					}
					s.r.backoff.Next(key, s.now)
					log.V(2).Info("Found failed daemon pod on node, will try to kill it", "pod", podKey(pod), "node", node.Name)
					s.r.Recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it", pod.Namespace, pod.Name, node.Name)
					remove = append(remove, pod)
					continue
				}
				if pod.Status.Phase == corev1.PodSucceeded {
					remove = append(remove, pod)
					continue
				}
				running = append(running, pod)
			}
			if len(running) <= 1 {
				break
			}
			sortPods(running)
			if !allowsSurge(ds) {
				remove = append(remove, running[1:]...)
				break
			}
			// Surging: keep the oldest new and the oldest old pod.
			var haveNew, haveOld bool
			for _, pod := range running {
				if isUpdated(pod, s.hash, templateGeneration(ds)) {
					if !haveNew {
						haveNew = true
						continue
					}
				} else if !haveOld {
					haveOld = true
					continue
				}
				remove = append(remove, pod)
			}
		case !keep && len(pods) > 0:
			for _, pod := range pods {
				if pod.DeletionTimestamp == nil {
					remove = append(remove, pod)
				}
			}
		}
	}
	// Unscheduled pods meant for nodes that no longer exist would never be
	// scheduled, nor collected by the pod GC.
	for name, pods := range byNode {
		if exists[name] {
			continue
		}
		for _, pod := range pods {
			if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
				remove = append(remove, pod)
			}
		}
	}
	return s.syncNodes(ctx, remove, create)
}

func allowsSurge(ds *appsv1.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.MaxSurge == nil || (ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType && ds.Spec.UpdateStrategy.Type != "") {
		return false
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, 1, true)
	return err == nil && v > 0
}

// syncNodes deletes remove and creates a daemon pod for each node in
// create, raising the expectations first.
func (s *syncer) syncNodes(ctx context.Context, remove []*corev1.Pod, create []string) error {
	ds := s.ds
	if len(remove) == 0 && len(create) == 0 {
		return nil
	}
	uids := make([]types.UID, 0, len(remove))
	for _, p := range remove {
		uids = append(uids, p.UID)
	}
	s.r.exp.expect(s.key, len(create), uids)
	var errs []error
	// Deletions first: with surge, an old pod leaves before the next
	// node surges.
	for _, pod := range remove {
		uid := pod.UID
		if err := s.r.Client.Delete(ctx, pod, client.Preconditions{UID: &uid}); err != nil {
			s.r.exp.deleted(s.key, uid)
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				continue
			}
			s.r.Recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
			errs = append(errs, fmt.Errorf("delete daemon pod %s: %w", pod.Name, err))
			continue
		}
		s.r.Recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", pod.Name)
	}
	template := podTemplate(ds, s.hash)
	for i, node := range create {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName:    ds.Name + "-",
				Namespace:       ds.Namespace,
				Labels:          copyMap(template.Labels),
				Annotations:     copyMap(template.Annotations),
				Finalizers:      append([]string(nil), template.Finalizers...),
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, dsKind)},
			},
			Spec: *template.Spec.DeepCopy(),
		}
		pod.Spec.Affinity = nodeAffinityFor(pod.Spec.Affinity, node)
		if err := s.r.Client.Create(ctx, pod); err != nil {
			// This and the creations not tried will not be observed.
			for range create[i:] {
				s.r.exp.created(s.key)
			}
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				break
			}
			s.r.Recorder.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			errs = append(errs, fmt.Errorf("create daemon pod for node %s: %w", node, err))
			break
		}
		s.r.Recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
	}
	return errors.Join(errs...)
}

// findUpdatedPodsOnNode splits a node's live pods into the one new and the
// one old pod; ok is false when there are more of either.
func (s *syncer) findUpdatedPodsOnNode(pods []*corev1.Pod) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if isUpdated(pod, s.hash, templateGeneration(s.ds)) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = pod
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = pod
		}
	}
	return newPod, oldPod, true
}

// desiredCounts is maxSurge, maxUnavailable (scaled on the number of nodes
// that should run a pod) and the node map including those nodes.
func (s *syncer) desiredCounts(byNode map[string][]*corev1.Pod) (maxSurge, maxUnavailable int, err error) {
	desired := 0
	for _, node := range s.nodes {
		if run, _ := shouldRun(s.ds, node); run {
			desired++
			if _, ok := byNode[node.Name]; !ok {
				byNode[node.Name] = nil
			}
		}
	}
	ru := s.ds.Spec.UpdateStrategy.RollingUpdate
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	mu, ms := &one, &zero
	if ru != nil {
		if ru.MaxUnavailable != nil {
			mu = ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			ms = ru.MaxSurge
		}
	}
	if maxUnavailable, err = intstr.GetScaledValueFromIntOrPercent(mu, desired, true); err != nil {
		return 0, 0, fmt.Errorf("invalid maxUnavailable: %w", err)
	}
	if maxSurge, err = intstr.GetScaledValueFromIntOrPercent(ms, desired, true); err != nil {
		return 0, 0, fmt.Errorf("invalid maxSurge: %w", err)
	}
	if maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable, nil
}

// rollingUpdate replaces old pods: without surge it deletes old pods while
// at most maxUnavailable nodes lack an available pod (the manage loop then
// creates new ones); with surge it first creates new pods beside old ones
// on up to maxSurge nodes and deletes each old pod once its replacement is
// available.
func (s *syncer) rollingUpdate(ctx context.Context) error {
	if !s.r.exp.satisfied(s.key) {
		return nil
	}
	ds := s.ds
	byNode := s.nodeToPods()
	maxSurge, maxUnavailable, err := s.desiredCounts(byNode)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	sort.Strings(names)
	min := ds.Spec.MinReadySeconds
	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*corev1.Pod
		for _, n := range names {
			newPod, oldPod, ok := s.findUpdatedPodsOnNode(byNode[n])
			if !ok {
				unavailable++
				continue
			}
			switch {
			case (oldPod == nil) == (newPod == nil):
				unavailable++
			case newPod != nil:
				if !isAvailable(newPod, min, s.now) {
					unavailable++
					if d := availableIn(newPod, min, s.now); d > 0 {
						s.requeue(d)
					}
				}
			default:
				switch {
				case !isAvailable(oldPod, min, s.now):
					replace = append(replace, oldPod)
				case unavailable >= maxUnavailable:
				default:
					candidates = append(candidates, oldPod)
				}
			}
		}
		remaining := maxUnavailable - unavailable
		if remaining < 0 {
			remaining = 0
		}
		if remaining > len(candidates) {
			remaining = len(candidates)
		}
		return s.syncNodes(ctx, append(replace, candidates[:remaining]...), nil)
	}

	surge := 0
	var allowed, candidates []string
	var remove []*corev1.Pod
	nodeByName := map[string]*corev1.Node{}
	for _, n := range s.nodes {
		nodeByName[n.Name] = n
	}
	for _, n := range names {
		newPod, oldPod, ok := s.findUpdatedPodsOnNode(byNode[n])
		if !ok {
			surge++
			continue
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			switch {
			case !isAvailable(oldPod, min, s.now):
				if node := nodeByName[n]; node != nil {
					if run, _ := shouldRun(ds, node); run {
						allowed = append(allowed, n)
					}
				}
			case surge >= maxSurge:
			default:
				candidates = append(candidates, n)
			}
		default:
			if !isAvailable(newPod, min, s.now) {
				surge++
				if d := availableIn(newPod, min, s.now); d > 0 {
					s.requeue(d)
				}
				continue
			}
			remove = append(remove, oldPod)
		}
	}
	remaining := maxSurge - surge
	if remaining < 0 {
		remaining = 0
	}
	if remaining > len(candidates) {
		remaining = len(candidates)
	}
	return s.syncNodes(ctx, remove, append(allowed, candidates[:remaining]...))
}

// cleanupHistory deletes the oldest old revisions no pod uses until at most
// revisionHistoryLimit old ones remain.
func (s *syncer) cleanupHistory(ctx context.Context) error {
	limit := 10
	if s.ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*s.ds.Spec.RevisionHistoryLimit)
	}
	kill := len(s.old) - limit
	if kill <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, pod := range s.pods {
		if h := pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" {
			live[h] = true
		}
	}
	for _, rev := range s.old {
		if kill <= 0 {
			break
		}
		if live[rev.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			continue
		}
		uid := rev.UID
		if err := s.r.Client.Delete(ctx, rev, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s: %w", rev.Name, err)
		}
		kill--
	}
	return nil
}

// updateStatus computes and writes the DaemonSet's status.
func (s *syncer) updateStatus(ctx context.Context) error {
	ds := s.ds
	byNode := s.nodeToPods()
	st := appsv1.DaemonSetStatus{
		ObservedGeneration: ds.Generation,
		CollisionCount:     ds.Status.CollisionCount,
		Conditions:         ds.Status.Conditions,
	}
	if s.collisions != 0 || ds.Status.CollisionCount != nil {
		c := s.collisions
		st.CollisionCount = &c
	}
	gen := templateGeneration(ds)
	for _, node := range s.nodes {
		run, _ := shouldRun(ds, node)
		pods := byNode[node.Name]
		scheduled := len(pods) > 0
		if !run {
			if scheduled {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if !scheduled {
			continue
		}
		st.CurrentNumberScheduled++
		sorted := append([]*corev1.Pod(nil), pods...)
		sortPods(sorted)
		pod := sorted[0]
		if isPodReady(pod) {
			st.NumberReady++
			if isAvailable(pod, ds.Spec.MinReadySeconds, s.now) {
				st.NumberAvailable++
			} else if d := availableIn(pod, ds.Spec.MinReadySeconds, s.now); d > 0 {
				s.requeue(d)
			}
		}
		if pod.DeletionTimestamp == nil && isUpdated(pod, s.hash, gen) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	if equality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	upd := ds.DeepCopy()
	upd.Status = st
	if err := s.r.Client.Status().Update(ctx, upd); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// The newer object is (or will be) in the cache and queued.
			return nil
		}
		return fmt.Errorf("update status of DaemonSet %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
