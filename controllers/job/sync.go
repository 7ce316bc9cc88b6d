package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// maxUncountedPods bounds status.uncountedTerminatedPods (and the
	// finalizer removals of one sync), as upstream.
	maxUncountedPods = 500
	// maxPodCreateDeletePerSync bounds the pods one sync creates or deletes.
	maxPodCreateDeletePerSync = 500
	// expectationsRecheck is when a Job waiting for its cache is looked at
	// again, should no pod event arrive first.
	expectationsRecheck = 5 * time.Second
)

// syncCtx is what one sync of a Job works from.
type syncCtx struct {
	job         *batchv1.Job
	pods        []*corev1.Pod
	active      []*corev1.Pod
	ready       int32
	terminating int32

	uncountedSucceeded sets.Set[types.UID]
	uncountedFailed    sets.Set[types.UID]
	expectedRm         sets.Set[types.UID]

	succeeded, failed int32

	prevSucceededIdx, succeededIdx intervals
	failedIdx                      *intervals
	// lastFailedPerIndex is, per index, its most recent failed pod (it
	// carries the index's failure counts).
	lastFailedPerIndex map[int]*corev1.Pod

	finished   *batchv1.JobCondition
	newBackoff backoffRecord
	requeue    time.Duration
}

func (s *syncCtx) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

func (r *Reconciler) now() time.Time { return r.Options.Clock.Now() }

// sync makes the Job's pods and status follow its spec, as upstream's
// syncJob: count finished pods (through uncountedTerminatedPods and the
// tracking finalizer), decide whether the Job succeeded or failed, create
// or delete pods, and write the status. It returns when to sync again.
func (r *Reconciler) sync(ctx context.Context, job *batchv1.Job) (time.Duration, error) {
	log := ctrlLogger(ctx)
	if isFinished(job) {
		r.backoff.remove(job.UID)
		r.expectations.forget(job.UID)
		return 0, nil
	}
	if m := job.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		r.Recorder.Event(job, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return 0, nil
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	pods, err := r.podsOf(ctx, job)
	if err != nil {
		return 0, err
	}
	now := r.now()
	satisfied, expectedRm := r.expectations.observe(job.UID, pods, now)
	s := &syncCtx{
		job:                job,
		pods:               pods,
		uncountedSucceeded: sets.New(job.Status.UncountedTerminatedPods.Succeeded...),
		uncountedFailed:    sets.New(job.Status.UncountedTerminatedPods.Failed...),
		expectedRm:         expectedRm,
	}
	if !satisfied {
		s.requeueAfter(expectationsRecheck)
	}
	for _, p := range pods {
		switch {
		case isActive(p):
			s.active = append(s.active, p)
			if isPodReady(p) {
				s.ready++
			}
		case isTerminating(p):
			s.terminating++
		}
	}
	active := int32(len(s.active))
	newSucceeded, newFailed := r.newFinishedPods(s)
	s.succeeded = job.Status.Succeeded + int32(len(newSucceeded)) + int32(s.uncountedSucceeded.Len())
	s.failed = job.Status.Failed + int32(countedFailures(job, newFailed)) + int32(s.uncountedFailed.Len())

	if job.Status.StartTime == nil && !isSuspended(job) {
		job.Status.StartTime = &metav1.Time{Time: now}
	}
	s.newBackoff = r.backoff.get(job.UID).next(newSucceeded, newFailed, now)

	backoffLimit := ptr.Deref(job.Spec.BackoffLimit, 6)
	if successCriteriaMet := findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet); successCriteriaMet != nil && successCriteriaMet.Status == corev1.ConditionTrue {
		s.finished = successCriteriaMet.DeepCopy()
	}
	if s.finished == nil {
		if ft := findCondition(job.Status.Conditions, batchv1.JobFailureTarget); ft != nil && ft.Status == corev1.ConditionTrue {
			s.finished = newCondition(batchv1.JobFailed, ft.Reason, ft.Message, now)
		} else if msg := failJobMessage(job, pods); msg != nil {
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, *msg, now)
		}
	}
	if s.finished == nil {
		switch {
		case !hasBackoffLimitPerIndex(job) && (s.failed > backoffLimit || pastBackoffLimitOnFailure(job, pods)):
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now)
		case r.pastActiveDeadline(job):
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline", now)
		case job.Spec.ActiveDeadlineSeconds != nil && !isSuspended(job) && job.Status.StartTime != nil:
			left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(job.Status.StartTime.Time)
			s.requeueAfter(max(left, time.Millisecond))
		}
	}
	if isIndexed(job) {
		completions := int(ptr.Deref(job.Spec.Completions, 0))
		s.prevSucceededIdx, s.succeededIdx = succeededIndexes(s)
		s.succeeded = int32(s.succeededIdx.total())
		if hasBackoffLimitPerIndex(job) {
			s.lastFailedPerIndex = lastFailedPerIndex(job, pods)
			failed := failedIndexes(s)
			s.failedIdx = &failed
			if s.finished == nil {
				if job.Spec.MaxFailedIndexes != nil && failed.total() > int(*job.Spec.MaxFailedIndexes) {
					s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded the specified maximal number of failed indexes", now)
				} else if failed.total() > 0 && failed.total()+s.succeededIdx.total() >= completions {
					s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, "Job has failed indexes", now)
				}
			}
		}
		if s.finished == nil {
			if msg, met := matchSuccessPolicy(job.Spec.SuccessPolicy, int32(completions), s.succeededIdx); met {
				s.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
			}
		}
	}

	var manageErr error
	suspendChanged := false
	if s.finished != nil {
		// The Job is finishing: its active pods go (keeping their
		// finalizers, so that they are counted).
		deletedReady, deleted, err := r.deletePods(ctx, job, s.active, false)
		if deleted != active || !satisfied {
			// Not yet: some pods may remain, or not be in the cache yet.
			s.finished = nil
			s.requeueAfter(expectationsRecheck)
		}
		active -= deleted
		s.terminating += deleted
		s.ready -= deletedReady
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			active, manageErr = r.manageJob(ctx, s)
			managed = true
		}
		var complete bool
		if job.Spec.Completions == nil {
			complete = s.succeeded > 0 && active == 0
		} else {
			complete = s.succeeded >= *job.Spec.Completions && active == 0
		}
		switch {
		case complete:
			s.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
		case managed && isSuspended(job):
			var changed bool
			job.Status.Conditions, changed = ensureCondition(job.Status.Conditions, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now)
			if changed {
				suspendChanged = true
				r.Recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
			}
		case managed:
			var changed bool
			job.Status.Conditions, changed = ensureCondition(job.Status.Conditions, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now)
			if changed {
				suspendChanged = true
				r.Recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
				// activeDeadlineSeconds counts from the resume.
				job.Status.StartTime = &metav1.Time{Time: now}
			}
		}
	}
	needsFlush := suspendChanged || active != job.Status.Active || !ptr.Equal(&s.ready, job.Status.Ready) || !ptr.Equal(&s.terminating, job.Status.Terminating)
	job.Status.Active = active
	job.Status.Ready = ptr.To(s.ready)
	job.Status.Terminating = ptr.To(s.terminating)
	if err := r.trackStatus(ctx, s, needsFlush); err != nil {
		return 0, fmt.Errorf("tracking status: %w", err)
	}
	if manageErr != nil {
		log.V(2).Info("Managing pods failed", "err", manageErr)
	}
	return s.requeue, manageErr
}

func isSuccessCriteriaMet(job *batchv1.Job) bool {
	c := findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet)
	return c != nil && c.Status == corev1.ConditionTrue
}

// podsOf lists the pods the Job controls (from the cache).
func (r *Reconciler) podsOf(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	var list corev1.PodList
	if err := r.Client.List(ctx, &list, client.InNamespace(job.Namespace)); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	var pods []*corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == job.UID {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// newFinishedPods are the finished pods not yet in the status: with the
// tracking finalizer, not uncounted, not being finalized, and for Indexed
// Jobs with a valid index.
func (r *Reconciler) newFinishedPods(s *syncCtx) (succeeded, failed []*corev1.Pod) {
	for _, p := range s.pods {
		if !hasTrackingFinalizer(p) || s.expectedRm.Has(p.UID) {
			continue
		}
		if isIndexed(s.job) {
			if _, ok := validIndex(s.job, p); !ok {
				continue
			}
		}
		if p.Status.Phase == corev1.PodSucceeded && !s.uncountedSucceeded.Has(p.UID) {
			succeeded = append(succeeded, p)
		} else if isPodFailed(p, s.job) && !s.uncountedFailed.Has(p.UID) {
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// countedFailures is how many of the failed pods count towards the
// backoff limit (podFailurePolicy may ignore some).
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int {
	n := 0
	for _, p := range failed {
		if _, count, _ := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p); count {
			n++
		}
	}
	return n
}

func failJobMessage(job *batchv1.Job, pods []*corev1.Pod) *string {
	if job.Spec.PodFailurePolicy == nil {
		return nil
	}
	for _, p := range pods {
		if isPodFailed(p, job) {
			if msg, _, _ := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p); msg != nil {
				return msg
			}
		}
	}
	return nil
}

// pastBackoffLimitOnFailure: with restartPolicy OnFailure, the restarts of
// the running pods' containers reach the backoff limit.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			restarts += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	limit := ptr.Deref(job.Spec.BackoffLimit, 6)
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

func (r *Reconciler) pastActiveDeadline(job *batchv1.Job) bool {
	if job.Spec.ActiveDeadlineSeconds == nil || job.Status.StartTime == nil || isSuspended(job) {
		return false
	}
	return r.now().Sub(job.Status.StartTime.Time) >= time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second
}

// succeededIndexes are the completed indexes of the status and those with
// the pods that newly succeeded.
func succeededIndexes(s *syncCtx) (prev, all intervals) {
	completions := int(ptr.Deref(s.job.Spec.Completions, 0))
	prev = parseIntervals(s.job.Status.CompletedIndexes, completions)
	var ix []int
	for _, p := range s.pods {
		if p.Status.Phase != corev1.PodSucceeded || !hasTrackingFinalizer(p) || s.expectedRm.Has(p.UID) {
			continue
		}
		if i, ok := validIndex(s.job, p); ok && !prev.has(i) {
			ix = append(ix, i)
		}
	}
	return prev, prev.with(ix)
}

// failedIndexes are the failed indexes of the status and those whose pods
// newly failed past backoffLimitPerIndex or with a FailIndex rule.
func failedIndexes(s *syncCtx) intervals {
	completions := int(ptr.Deref(s.job.Spec.Completions, 0))
	prev := parseIntervals(ptr.Deref(s.job.Status.FailedIndexes, ""), completions)
	var ix []int
	for _, p := range s.pods {
		if !hasTrackingFinalizer(p) || s.expectedRm.Has(p.UID) {
			continue
		}
		i, ok := validIndex(s.job, p)
		if !ok || prev.has(i) || s.succeededIdx.has(i) {
			continue
		}
		if isIndexFailed(s.job, p) {
			ix = append(ix, i)
		}
	}
	return prev.with(ix)
}

func isIndexFailed(job *batchv1.Job, p *corev1.Pod) bool {
	if !isPodFailed(p, job) {
		return false
	}
	_, count, action := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p)
	if action != nil && *action == batchv1.PodFailurePolicyActionFailIndex {
		return true
	}
	return count && int32(indexFailureCount(p)) >= *job.Spec.BackoffLimitPerIndex
}

// lastFailedPerIndex finds each index's latest failed pod: the one with
// the highest failure counts, the newest among equals.
func lastFailedPerIndex(job *batchv1.Job, pods []*corev1.Pod) map[int]*corev1.Pod {
	out := map[int]*corev1.Pod{}
	for _, p := range pods {
		if !isPodFailed(p, job) {
			continue
		}
		i, ok := validIndex(job, p)
		if !ok {
			continue
		}
		cur := out[i]
		if cur == nil {
			out[i] = p
			continue
		}
		pc, cc := indexFailureCount(p)+indexIgnoredFailureCount(p), indexFailureCount(cur)+indexIgnoredFailureCount(cur)
		if pc > cc || (pc == cc && cur.CreationTimestamp.Before(&p.CreationTimestamp)) {
			out[i] = p
		}
	}
	return out
}

// nextIndexFailureCounts are the failure counts a replacement pod of the
// index carries: the last failed pod's plus its own failure.
func nextIndexFailureCounts(job *batchv1.Job, last *corev1.Pod) (failures, ignored int) {
	if last == nil {
		return 0, 0
	}
	failures, ignored = indexFailureCount(last), indexIgnoredFailureCount(last)
	if _, count, _ := matchPodFailurePolicy(job.Spec.PodFailurePolicy, last); count {
		failures++
	} else {
		ignored++
	}
	return failures, ignored
}

// manageJob creates or deletes pods so that the Job runs as many as it
// should; it returns the number of active pods.
func (r *Reconciler) manageJob(ctx context.Context, s *syncCtx) (int32, error) {
	job := s.job
	active := int32(len(s.active))
	if isSuspended(job) {
		// Suspension removes pods without counting them as failed.
		removedReady, removed, err := r.deletePods(ctx, job, s.active, true)
		s.terminating += removed
		s.ready -= removedReady
		return active - removed, err
	}
	parallelism := ptr.Deref(job.Spec.Parallelism, 1)
	var want int32
	if job.Spec.Completions == nil {
		want = parallelism
		if s.succeeded > 0 {
			want = active
		}
	} else {
		want = min(max(*job.Spec.Completions-s.succeeded, 0), parallelism)
	}
	rmAtLeast := max(active-want, 0)
	if rm := podsForRemoval(job, s.active, int(rmAtLeast)); len(rm) > 0 {
		if len(rm) > maxPodCreateDeletePerSync {
			rm = rm[:maxPodCreateDeletePerSync]
		}
		removedReady, removed, err := r.deletePods(ctx, job, rm, true)
		s.terminating += removed
		s.ready -= removedReady
		return active - removed, err
	}
	var terminating int32
	if onlyReplaceFailedPods(job) {
		terminating = s.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active, nil
	}
	if !hasBackoffLimitPerIndex(job) {
		if left := s.newBackoff.remaining(r.Options.Clock, r.Options.PodFailureBackoff, r.Options.MaxPodFailureBackoff); left > 0 {
			s.requeueAfter(left)
			return active, nil
		}
	}
	diff = min(diff, maxPodCreateDeletePerSync)
	indexes := []int(nil)
	if isIndexed(job) {
		indexes = r.pendingIndexes(s, int(diff))
		diff = int32(len(indexes))
	}
	var (
		mu      sync.Mutex
		errs    []error
		created int32
	)
	create := func(index int) {
		var failures, ignored int
		if index != unknownIndex {
			failures, ignored = nextIndexFailureCounts(job, s.lastFailedPerIndex[index])
		}
		pod := newPod(job, index, failures, ignored)
		err := r.Client.Create(ctx, pod)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return
			}
			r.Recorder.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			errs = append(errs, err)
			return
		}
		r.expectations.expectCreated(job.UID, pod.Name, r.now())
		r.Recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
		created++
	}
	// Slow start: batches of 1, 2, 4, ... stop at the first failure.
	for batch := int32(1); diff > 0; batch = min(2*batch, diff) {
		batch = min(batch, diff)
		var wg sync.WaitGroup
		failedBefore := len(errs)
		for i := int32(0); i < batch; i++ {
			index := unknownIndex
			if len(indexes) > 0 {
				index, indexes = indexes[0], indexes[1:]
			}
			wg.Add(1)
			go func() { defer wg.Done(); create(index) }()
		}
		wg.Wait()
		diff -= batch
		if len(errs) > failedBefore {
			break
		}
	}
	return active + created, errors.Join(errs...)
}

// pendingIndexes are the lowest indexes without a succeeded, failed or
// running pod (and with their per-index backoff over).
func (r *Reconciler) pendingIndexes(s *syncCtx, count int) []int {
	job := s.job
	completions := int(ptr.Deref(job.Spec.Completions, 0))
	busy := map[int]bool{}
	for _, p := range s.active {
		if i, ok := validIndex(job, p); ok {
			busy[i] = true
		}
	}
	if onlyReplaceFailedPods(job) {
		for _, p := range s.pods {
			if isTerminating(p) {
				if i, ok := validIndex(job, p); ok {
					busy[i] = true
				}
			}
		}
	}
	var out []int
	var wait time.Duration
	for i := 0; i < completions && len(out) < count; i++ {
		if busy[i] || s.succeededIdx.has(i) || (s.failedIdx != nil && s.failedIdx.has(i)) {
			continue
		}
		if hasBackoffLimitPerIndex(job) {
			if last := s.lastFailedPerIndex[i]; last != nil {
				failures, _ := nextIndexFailureCounts(job, last)
				if left := remainingBackoff(r.now(), podFinishTime(last, r.now()), failures, r.Options.PodFailureBackoff, r.Options.MaxPodFailureBackoff); left > 0 {
					if wait == 0 || left < wait {
						wait = left
					}
					continue
				}
			}
		}
		out = append(out, i)
	}
	s.requeueAfter(wait)
	return out
}

// deletePods deletes the pods, first removing their tracking finalizer
// when rmFinalizer (pods removed for suspension or scale-down are not
// counted as failures). It returns how many ready and how many pods it
// deleted.
func (r *Reconciler) deletePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod, rmFinalizer bool) (int32, int32, error) {
	var (
		mu                    sync.Mutex
		errs                  []error
		deleted, deletedReady int32
		wg                    sync.WaitGroup
	)
	for _, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := func() error {
				if rmFinalizer && hasTrackingFinalizer(p) {
					if err := removeTrackingFinalizer(ctx, r.Client, p); err != nil {
						return fmt.Errorf("removing tracking finalizer: %w", err)
					}
				}
				err := r.Client.Delete(ctx, p, client.Preconditions{UID: &p.UID})
				if apierrors.IsNotFound(err) {
					return nil
				}
				return err
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.Recorder.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				errs = append(errs, err)
				return
			}
			r.expectations.expectDeleted(job.UID, p.UID, r.now())
			r.Recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
			deleted++
			if isPodReady(p) {
				deletedReady++
			}
		}()
	}
	wg.Wait()
	return deletedReady, deleted, errors.Join(errs...)
}

// removeTrackingFinalizer patches the finalizer away (a pod that is gone
// counts as done).
func removeTrackingFinalizer(ctx context.Context, c client.Client, p *corev1.Pod) error {
	if !hasTrackingFinalizer(p) {
		return nil
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, batchv1.JobTrackingFinalizer))
	err := c.Patch(ctx, p.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, patch))
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// trackStatus counts finished pods into the status in upstream's three
// steps — record them in uncountedTerminatedPods, remove their
// finalizers, move them to the counters — then adds the terminal
// condition once nothing is left to count or terminate.
func (r *Reconciler) trackStatus(ctx context.Context, s *syncCtx, needsFlush bool) error {
	job := s.job
	now := r.now()
	uncounted := job.Status.UncountedTerminatedPods
	withFinalizer := sets.New[types.UID]()
	for _, p := range s.pods {
		if hasTrackingFinalizer(p) && !s.expectedRm.Has(p.UID) {
			withFinalizer.Insert(p.UID)
		}
	}
	if moveCounted(&job.Status, withFinalizer) {
		needsFlush = true
	}
	// The interim condition (FailureTarget, SuccessCriteriaMet) goes into
	// the status before any finalizer is removed; the terminal one
	// (Failed, Complete) follows once everything is counted.
	var terminal *batchv1.JobCondition
	if f := s.finished; f != nil {
		switch f.Type {
		case batchv1.JobFailureTarget:
			job.Status.Conditions = append(job.Status.Conditions, *f)
			needsFlush = true
			terminal = newCondition(batchv1.JobFailed, f.Reason, f.Message, now)
		case batchv1.JobSuccessCriteriaMet:
			if !isSuccessCriteriaMet(job) {
				job.Status.Conditions = append(job.Status.Conditions, *f)
				needsFlush = true
			}
			terminal = newCondition(batchv1.JobComplete, f.Reason, f.Message, now)
		default:
			terminal = f
		}
	}
	finishing := terminal != nil
	failing := finishing && terminal.Type == batchv1.JobFailed
	pods := s.pods
	if isIndexed(job) {
		pods = slices.Clone(pods)
		slices.SortStableFunc(pods, func(a, b *corev1.Pod) int { return completionIndex(a) - completionIndex(b) })
	}
	var toRemove []*corev1.Pod
	var newSucceededIdx []int
	reachedMax := false
	for _, p := range pods {
		if !hasTrackingFinalizer(p) || s.expectedRm.Has(p.UID) {
			continue
		}
		failed := isPodFailed(p, job)
		if finishing && !failing && p.Status.Phase != corev1.PodFailed {
			// Once the Job has met its success criteria, the pods it
			// deletes are not failures. Upstream avoids counting them by
			// removing their finalizers in the sync that deletes them; a
			// sync that loses that race (a stale cache, a conflict) would
			// otherwise see them terminating and count them as failed.
			failed = false
		}
		if !(job.DeletionTimestamp != nil || finishing || p.Status.Phase == corev1.PodSucceeded || failed) {
			continue
		}
		toRemove = append(toRemove, p)
		ix, validIx := validIndex(job, p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedFailed.Has(p.UID):
			if isIndexed(job) {
				if validIx && !s.prevSucceededIdx.has(ix) {
					newSucceededIdx = append(newSucceededIdx, ix)
					needsFlush = true
				}
			} else if !s.uncountedSucceeded.Has(p.UID) {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
				s.uncountedSucceeded.Insert(p.UID)
				needsFlush = true
			}
		case failed || failing:
			// When the Job fails, every unfinished pod counts as failed.
			if s.uncountedFailed.Has(p.UID) || (isIndexed(job) && !validIx) {
				break
			}
			if _, count, _ := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p); count || !failed {
				uncounted.Failed = append(uncounted.Failed, p.UID)
				s.uncountedFailed.Insert(p.UID)
				needsFlush = true
			}
		}
		if len(newSucceededIdx)+len(uncounted.Succeeded)+len(uncounted.Failed) >= maxUncountedPods {
			reachedMax = true
			break
		}
	}
	if isIndexed(job) {
		s.succeededIdx = s.succeededIdx.with(newSucceededIdx)
		if str := s.succeededIdx.String(); str != job.Status.CompletedIndexes {
			job.Status.CompletedIndexes = str
			needsFlush = true
		}
		job.Status.Succeeded = int32(s.succeededIdx.total())
		var failedStr *string
		if s.failedIdx != nil {
			failedStr = ptr.To(s.failedIdx.String())
		}
		if !ptr.Equal(job.Status.FailedIndexes, failedStr) {
			job.Status.FailedIndexes = failedStr
			needsFlush = true
		}
	}
	oldBackoff := s.newBackoff
	if needsFlush {
		if err := r.updateStatus(ctx, job); err != nil {
			return fmt.Errorf("adding uncounted pods to status: %w", err)
		}
		r.backoff.set(job.UID, oldBackoff)
		needsFlush = false
	}
	var rmErr error
	if len(toRemove) > 0 {
		var errs []error
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range toRemove {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.expectations.expectFinalizerRemoved(job.UID, p.UID, r.now())
				err := removeTrackingFinalizer(ctx, r.Client, p)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				withFinalizer.Delete(p.UID)
			}()
		}
		wg.Wait()
		rmErr = errors.Join(errs...)
	}
	if moveCounted(&job.Status, withFinalizer) {
		needsFlush = true
	}
	if rmErr != nil {
		if needsFlush {
			if err := r.updateStatus(ctx, job); err != nil {
				return fmt.Errorf("removing uncounted pods from status: %w", err)
			}
		}
		return rmErr
	}
	finished := false
	if u := job.Status.UncountedTerminatedPods; terminal != nil && !reachedMax && len(u.Succeeded)+len(u.Failed) == 0 && ptr.Deref(job.Status.Terminating, 0) == 0 {
		job.Status.Conditions, _ = ensureCondition(job.Status.Conditions, terminal.Type, corev1.ConditionTrue, terminal.Reason, terminal.Message, now)
		if terminal.Type == batchv1.JobComplete {
			job.Status.CompletionTime = &metav1.Time{Time: now}
		}
		finished, needsFlush = true, true
	} else if terminal != nil {
		s.requeueAfter(expectationsRecheck)
	}
	if needsFlush {
		if err := r.updateStatus(ctx, job); err != nil {
			return fmt.Errorf("removing uncounted pods from status: %w", err)
		}
		if finished {
			r.recordFinished(job, terminal)
		}
	}
	return nil
}

// moveCounted moves uncounted pods whose finalizer is gone into the
// counters; it reports whether anything moved.
func moveCounted(status *batchv1.JobStatus, withFinalizer sets.Set[types.UID]) bool {
	u := status.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer.Has(uid) {
				out = append(out, uid)
			}
		}
		return out
	}
	changed := false
	if k := keep(u.Succeeded); len(k) != len(u.Succeeded) {
		status.Succeeded += int32(len(u.Succeeded) - len(k))
		u.Succeeded, changed = k, true
	}
	if k := keep(u.Failed); len(k) != len(u.Failed) {
		status.Failed += int32(len(u.Failed) - len(k))
		u.Failed, changed = k, true
	}
	return changed
}

// updateStatus writes the status (with the Job's resourceVersion, so that a
// sync from a stale cache fails with a conflict instead of counting twice)
// and takes the stored Job back.
func (r *Reconciler) updateStatus(ctx context.Context, job *batchv1.Job) error {
	if err := r.Client.Status().Update(ctx, job); err != nil {
		return err
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	return nil
}

func (r *Reconciler) recordFinished(job *batchv1.Job, c *batchv1.JobCondition) {
	if c.Type == batchv1.JobComplete {
		if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
			r.Recorder.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		r.Recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	r.Recorder.Event(job, corev1.EventTypeWarning, c.Reason, c.Message)
}

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: metav1.Time{Time: now}, LastTransitionTime: metav1.Time{Time: now},
	}
}

func findCondition(list []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range list {
		if list[i].Type == t {
			return &list[i]
		}
	}
	return nil
}

// ensureCondition sets the condition, appending it unless it would be a
// new False one; it reports whether the list changed.
func ensureCondition(list []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) ([]batchv1.JobCondition, bool) {
	if c := findCondition(list, t); c != nil {
		if c.Status != status || c.Reason != reason || c.Message != message {
			*c = *newCondition(t, reason, message, now)
			c.Status = status
			return list, true
		}
		return list, false
	}
	if status == corev1.ConditionFalse {
		return list, false
	}
	c := newCondition(t, reason, message, now)
	c.Status = status
	return append(list, *c), true
}

// isFinished: a Complete or Failed condition is True.
func isFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
