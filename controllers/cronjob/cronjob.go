package cronjob

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/skiff-dev/skiff/controllers"
)

// Descriptor is the "cronjob" controller on the real clock.
var Descriptor = NewDescriptor(Options{})

// Options tune the controller.
type Options struct {
	// Clock is what schedules are evaluated against (nil means the real
	// clock; tests pass a fake one).
	Clock clock.Clock
}

// NewDescriptor is the "cronjob" controller with the given options.
func NewDescriptor(o Options) controllers.Descriptor {
	return controllers.Descriptor{Name: "cronjob", Setup: func(ctx context.Context, c controllers.Context) error {
		return Setup(ctx, c, o)
	}}
}

// Setup registers the CronJob controller with the manager.
func Setup(_ context.Context, c controllers.Context, o Options) error {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	r := &Reconciler{
		Client:   c.Manager.GetClient(),
		Reader:   c.Manager.GetAPIReader(),
		Recorder: c.Manager.GetEventRecorderFor("cronjob-controller"),
		Clock:    o.Clock,
	}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("cronjob").
		For(&batchv1.CronJob{}).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("cronjob controller: %w", err)
	}
	return nil
}

// Reconciler syncs one CronJob.
type Reconciler struct {
	Client client.Client
	// Reader reads around the cache, to confirm a Job is really gone.
	Reader   client.Reader
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
}

// Reconcile syncs the CronJob named by req.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cj batchv1.CronJob
	if err := r.Client.Get(ctx, req.NamespacedName, &cj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	var list batchv1.JobList
	if err := r.Client.List(ctx, &list, client.InNamespace(cj.Namespace)); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing jobs: %w", err)
	}
	var jobs []*batchv1.Job
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == cj.UID {
			jobs = append(jobs, &list.Items[i])
		}
	}
	cjCopy := cj.DeepCopy()
	after, updateStatus, err := r.sync(ctx, cjCopy, jobs)
	if r.cleanupFinishedJobs(ctx, cjCopy, jobs) {
		updateStatus = true
	}
	if updateStatus {
		if uerr := r.Client.Status().Update(ctx, cjCopy); uerr != nil {
			return ctrl.Result{}, fmt.Errorf("updating cronjob status: %w", uerr)
		}
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// sync reconciles status.active with the CronJob's Jobs and starts the Job
// of the most recent schedule time if it is due. It returns when to sync
// again (0: only on a change) and whether the status changed.
func (r *Reconciler) sync(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (time.Duration, bool, error) {
	log := ctrl.LoggerFrom(ctx)
	now := r.Clock.Now()
	updateStatus := false
	children := map[types.UID]bool{}
	for _, j := range jobs {
		children[j.UID] = true
		found := inActiveList(cj, j.UID)
		finished, cond := finishedStatus(j)
		switch {
		case !found && !finished:
			// The cached CronJob may predate the status write that added
			// it; ask the API server before calling it unexpected.
			var fresh batchv1.CronJob
			if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(cj), &fresh); err == nil && fresh.UID == cj.UID && inActiveList(&fresh, j.UID) {
				fresh.Status.DeepCopyInto(&cj.Status)
				cj.ResourceVersion = fresh.ResourceVersion
				continue
			}
			r.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
			// Unlike upstream, an unfinished Job the CronJob controls is
			// taken into status.active (say, its creation's status write
			// was lost to a restart or a conflict), so that Forbid and
			// Replace still see it.
			cj.Status.Active = append(cj.Status.Active, jobRef(j))
			updateStatus = true
		case found && finished:
			deleteFromActiveList(cj, j.UID)
			r.Recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
			updateStatus = true
		}
		if cond == batchv1.JobComplete && j.Status.CompletionTime != nil {
			if cj.Status.LastSuccessfulTime == nil || j.Status.CompletionTime.After(cj.Status.LastSuccessfulTime.Time) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
				updateStatus = true
			}
		}
	}
	// Active Jobs that are gone (confirmed around the cache, which may
	// lag) leave the list.
	for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
		if children[ref.UID] {
			continue
		}
		var j batchv1.Job
		err := r.Reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, &j)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && j.UID != ref.UID):
			r.Recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			deleteFromActiveList(cj, ref.UID)
			updateStatus = true
		case err != nil:
			return 0, updateStatus, fmt.Errorf("getting job %s: %w", ref.Name, err)
		}
	}
	if cj.DeletionTimestamp != nil {
		return 0, updateStatus, nil
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			r.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return 0, updateStatus, nil
		}
	}
	if ptr.Deref(cj.Spec.Suspend, false) {
		log.V(4).Info("Not starting job because the cron is suspended")
		return 0, updateStatus, nil
	}
	if hasTZ(cj.Spec.Schedule) {
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	}
	sched, err := parseSchedule(cj)
	if err != nil {
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, updateStatus, nil
	}
	_, scheduled, missed, err := mostRecentScheduleTime(cj, now, sched, true)
	if err != nil {
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return 0, updateStatus, nil
	}
	if missed > tooManyMissed {
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	next := nextScheduleTimeDuration(cj, now, sched)
	if scheduled == nil {
		return next, updateStatus, nil
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next, updateStatus, nil
	}
	name := jobName(cj, *scheduled)
	if inActiveListByName(cj, name) {
		// Started already (maybe its status write was lost).
		if last := cj.Status.LastScheduleTime; last == nil || last.Time.Before(*scheduled) {
			cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
			updateStatus = true
		}
		return nextScheduleTimeDuration(cj, now, sched), updateStatus, nil
	}
	if cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(*scheduled) {
		return next, updateStatus, nil
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 {
		r.Recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
		return next, updateStatus, nil
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ReplaceConcurrent {
		for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}}
			if err := r.deleteJob(ctx, cj, job, ref.UID); err != nil {
				return 0, updateStatus, err
			}
			updateStatus = true
		}
	}
	job, err := newJob(cj, *scheduled)
	if err != nil {
		return 0, updateStatus, err
	}
	err = r.Client.Create(ctx, job)
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return 0, updateStatus, nil
	case apierrors.IsAlreadyExists(err):
		// Ours from an earlier attempt whose status write was lost?
		var existing batchv1.Job
		if gerr := r.Reader.Get(ctx, client.ObjectKeyFromObject(job), &existing); gerr != nil {
			return 0, updateStatus, fmt.Errorf("getting existing job: %w", gerr)
		}
		if ref := metav1.GetControllerOf(&existing); ref == nil || ref.UID != cj.UID {
			r.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
			return next, updateStatus, nil
		}
		log.V(2).Info("Job already exists", "job", existing.Name)
		job = &existing
	case err != nil:
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, updateStatus, fmt.Errorf("creating job: %w", err)
	default:
		r.Recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", job.Name)
	}
	if finished, _ := finishedStatus(job); !finished && !inActiveList(cj, job.UID) {
		cj.Status.Active = append(cj.Status.Active, jobRef(job))
	}
	cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	return nextScheduleTimeDuration(cj, now, sched), true, nil
}

// newJob is the Job of one schedule time, from the CronJob's template.
func newJob(cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	loc, err := time.LoadLocation(ptr.Deref(cj.Spec.TimeZone, ""))
	if err != nil {
		return nil, fmt.Errorf("loading time zone: %w", err)
	}
	t := cj.Spec.JobTemplate.DeepCopy()
	annotations := map[string]string{}
	for k, v := range t.Annotations {
		annotations[k] = v
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(cj, scheduled),
			Namespace:       cj.Namespace,
			Labels:          t.Labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
		Spec: t.Spec,
	}, nil
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job",
		Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
	}
}

// deleteJob deletes a Job of the CronJob (its pods in the background) and
// drops it from status.active.
func (r *Reconciler) deleteJob(ctx context.Context, cj *batchv1.CronJob, job *batchv1.Job, uid types.UID) error {
	err := r.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) {
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return fmt.Errorf("deleting job %s: %w", job.Name, err)
	}
	deleteFromActiveList(cj, uid)
	r.Recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", job.Name)
	return nil
}

// cleanupFinishedJobs deletes the oldest finished Jobs beyond
// successfulJobsHistoryLimit and failedJobsHistoryLimit; it reports whether
// the status changed.
func (r *Reconciler) cleanupFinishedJobs(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	if cj.Spec.SuccessfulJobsHistoryLimit == nil && cj.Spec.FailedJobsHistoryLimit == nil {
		return false
	}
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch _, cond := finishedStatus(j); cond {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	changed := false
	prune := func(list []*batchv1.Job, limit *int32) {
		if limit == nil || len(list) <= int(*limit) {
			return
		}
		sort.SliceStable(list, func(i, k int) bool { return jobStartedBefore(list[i], list[k]) })
		for _, j := range list[:len(list)-int(*limit)] {
			active := inActiveList(cj, j.UID)
			if err := r.deleteJob(ctx, cj, j, j.UID); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "Deleting finished job over the history limit", "job", j.Name)
				continue
			}
			changed = changed || active
		}
	}
	prune(succeeded, cj.Spec.SuccessfulJobsHistoryLimit)
	prune(failed, cj.Spec.FailedJobsHistoryLimit)
	return changed
}

// jobStartedBefore orders Jobs by start time (unstarted last), then name.
func jobStartedBefore(a, b *batchv1.Job) bool {
	switch {
	case a.Status.StartTime == nil && b.Status.StartTime == nil:
		return a.Name < b.Name
	case a.Status.StartTime == nil:
		return false
	case b.Status.StartTime == nil:
		return true
	case a.Status.StartTime.Equal(b.Status.StartTime):
		return a.Name < b.Name
	}
	return a.Status.StartTime.Before(b.Status.StartTime)
}

// finishedStatus reports a True Complete or Failed condition.
func finishedStatus(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

func inActiveList(cj *batchv1.CronJob, uid types.UID) bool {
	for _, r := range cj.Status.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func inActiveListByName(cj *batchv1.CronJob, name string) bool {
	for _, r := range cj.Status.Active {
		if r.Name == name && r.Namespace == cj.Namespace {
			return true
		}
	}
	return false
}

func deleteFromActiveList(cj *batchv1.CronJob, uid types.UID) {
	out := cj.Status.Active[:0]
	for _, r := range cj.Status.Active {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	cj.Status.Active = out
}
