package batchtest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
)

// The CronJobs' Jobs are managed by "another controller", so that the
// tests decide when they finish.
const externalManager = "example.com/test"

func createCronJob(t *testing.T, ns, name string, mutate func(*batchv1.CronJobSpec)) *batchv1.CronJob {
	t.Helper()
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.CronJobSpec{
			Schedule: "* * * * *",
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"cron": name}},
				Spec:       batchv1.JobSpec{ManagedBy: ptr.To(externalManager), Template: podTemplate()},
			},
		},
	}
	if mutate != nil {
		mutate(&cj.Spec)
	}
	// The fake clock runs ahead of the API server's, so that schedule
	// times would be missed between creation and now: the CronJob starts
	// suspended, "last ran" now, then is resumed.
	suspend := cj.Spec.Suspend
	cj.Spec.Suspend = ptr.To(true)
	ctx := context.Background()
	out, err := env.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create cronjob: %v", err)
	}
	out.Status.LastScheduleTime = &metav1.Time{Time: cronClock.Now()}
	if out, err = env.Client.BatchV1().CronJobs(ns).UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set lastScheduleTime: %v", err)
	}
	patch := fmt.Sprintf(`{"spec":{"suspend":%v}}`, ptr.Deref(suspend, false))
	if out, err = env.Client.BatchV1().CronJobs(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("resume cronjob: %v", err)
	}
	return out
}

// tickTo moves the cronjob controller's clock to t (never back) and pokes
// the CronJob so that it syncs now rather than at its real-time requeue.
func tickTo(t *testing.T, ns, name string, at time.Time) {
	t.Helper()
	if at.After(cronClock.Now()) {
		cronClock.SetTime(at)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test/tick":%q}}}`, at.Format(time.RFC3339Nano))
	if _, err := env.Client.BatchV1().CronJobs(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("tick cronjob: %v", err)
	}
}

// firstMinute is the CronJob's first schedule time (every minute) after it
// "last ran".
func firstMinute(cj *batchv1.CronJob) time.Time {
	return cj.Status.LastScheduleTime.Time.Truncate(time.Minute).Add(time.Minute)
}

func cronJobs(ctx context.Context, ns, name string) ([]batchv1.Job, error) {
	list, err := env.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "cron=" + name})
	if err != nil {
		return nil, err
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

func jobNameAt(cron string, at time.Time) string { return fmt.Sprintf("%s-%d", cron, at.Unix()/60) }

// waitJobNames waits for the CronJob's (undeleted) Jobs to be exactly names.
func waitJobNames(t *testing.T, ns, cron string, names ...string) []batchv1.Job {
	t.Helper()
	var jobs []batchv1.Job
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		if jobs, err = cronJobs(ctx, ns, cron); err != nil {
			return false, err
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.Name)
		}
		if !slices.Equal(got, names) {
			return false, fmt.Errorf("jobs are %v", got)
		}
		return true, nil
	}, "jobs %v of cronjob %s", names, cron)
	return jobs
}

func waitCronStatus(t *testing.T, ns, name, what string, cond func(*batchv1.CronJob) bool) *batchv1.CronJob {
	t.Helper()
	var cj *batchv1.CronJob
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		cj, err = env.Client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && cond(cj), err
	}, "cronjob %s: %s", name, what)
	return cj
}

func activeNames(cj *batchv1.CronJob) []string {
	var out []string
	for _, r := range cj.Status.Active {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

// completeJob plays the Job's external controller: the Job succeeds (or
// fails) at the given time.
func completeJob(t *testing.T, ns, name string, succeeded bool, at time.Time) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx := context.Background()
		j, err := getJob(ctx, ns, name)
		if err != nil {
			return err
		}
		start := metav1.NewTime(at.Add(-time.Second))
		now := metav1.NewTime(at)
		j.Status.StartTime = &start
		cond := func(typ batchv1.JobConditionType, reason string) batchv1.JobCondition {
			return batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: now, LastProbeTime: now}
		}
		if succeeded {
			j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached"), cond(batchv1.JobComplete, "CompletionsReached")}
			j.Status.CompletionTime = &now
			j.Status.Succeeded = 1
		} else {
			j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget, "BackoffLimitExceeded"), cond(batchv1.JobFailed, "BackoffLimitExceeded")}
			j.Status.Failed = 1
		}
		_, err = env.Client.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("complete job %s: %v", name, err)
	}
}

func TestCronJobCreatesJobsPerSchedule(t *testing.T) {
	ns := namespace(t)
	cj := createCronJob(t, ns, "every", func(s *batchv1.CronJobSpec) { s.TimeZone = ptr.To("Asia/Kolkata") })
	m1 := firstMinute(cj)

	tickTo(t, ns, "every", m1.Add(time.Second))
	jobs := waitJobNames(t, ns, "every", jobNameAt("every", m1))
	j := jobs[0]
	if got, want := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation], m1.In(mustLoad(t, "Asia/Kolkata")).Format(time.RFC3339); got != want {
		t.Errorf("scheduled timestamp %q, want %q", got, want)
	}
	if ref := metav1.GetControllerOf(&j); ref == nil || ref.UID != cj.UID {
		t.Errorf("job controller ref %+v", ref)
	}
	st := waitCronStatus(t, ns, "every", "active and lastScheduleTime", func(c *batchv1.CronJob) bool {
		return len(c.Status.Active) == 1 && c.Status.LastScheduleTime.Time.Equal(m1)
	})
	if st.Status.Active[0].UID != j.UID {
		t.Errorf("status %+v", st.Status)
	}
	waitEvent(t, ns, "every", "SuccessfulCreate")

	// Allow: the next run starts although the first is still active.
	m2 := m1.Add(time.Minute)
	tickTo(t, ns, "every", m2.Add(time.Second))
	waitJobNames(t, ns, "every", jobNameAt("every", m1), jobNameAt("every", m2))
	waitCronStatus(t, ns, "every", "two active", func(c *batchv1.CronJob) bool { return len(c.Status.Active) == 2 })

	// A finished Job leaves status.active and sets lastSuccessfulTime.
	completeJob(t, ns, jobNameAt("every", m1), true, m2.Add(2*time.Second))
	st = waitCronStatus(t, ns, "every", "one active, last success", func(c *batchv1.CronJob) bool {
		return len(c.Status.Active) == 1 && c.Status.LastSuccessfulTime != nil
	})
	if activeNames(st)[0] != jobNameAt("every", m2) || !st.Status.LastSuccessfulTime.Time.Equal(m2.Add(2*time.Second)) {
		t.Errorf("status %+v", st.Status)
	}

	// Suspended: schedule times pass without Jobs. The m2 Job finishing
	// while suspended shows in the status only once the controller saw the
	// suspension (a stale status write would conflict).
	if _, err := env.Client.BatchV1().CronJobs(ns).Patch(context.Background(), "every", types.MergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	completeJob(t, ns, jobNameAt("every", m2), true, m2.Add(3*time.Second))
	waitCronStatus(t, ns, "every", "no active", func(c *batchv1.CronJob) bool { return len(c.Status.Active) == 0 })
	m3 := m2.Add(time.Minute)
	tickTo(t, ns, "every", m3.Add(time.Second))
	// A Job of the CronJob succeeding now marks a sync at m3.
	barrier := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "barrier", Namespace: ns, OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob")),
		}},
		Spec: batchv1.JobSpec{ManagedBy: ptr.To(externalManager), Template: podTemplate()},
	}
	if _, err := env.Client.BatchV1().Jobs(ns).Create(context.Background(), barrier, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	completeJob(t, ns, "barrier", true, m3.Add(5*time.Second))
	waitCronStatus(t, ns, "every", "barrier seen", func(c *batchv1.CronJob) bool {
		return c.Status.LastSuccessfulTime != nil && c.Status.LastSuccessfulTime.Time.Equal(m3.Add(5*time.Second))
	})
	if _, err := getJob(context.Background(), ns, jobNameAt("every", m3)); !apierrors.IsNotFound(err) {
		t.Errorf("suspended cronjob ran at m3: %v", err)
	}
	// Resumed, the missed run starts.
	if _, err := env.Client.BatchV1().CronJobs(ns).Patch(context.Background(), "every", types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	tickTo(t, ns, "every", m3.Add(6*time.Second))
	waitJobNames(t, ns, "every", jobNameAt("every", m1), jobNameAt("every", m2), jobNameAt("every", m3))
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestCronJobForbid(t *testing.T) {
	ns := namespace(t)
	cj := createCronJob(t, ns, "single", func(s *batchv1.CronJobSpec) { s.ConcurrencyPolicy = batchv1.ForbidConcurrent })
	m1 := firstMinute(cj)
	tickTo(t, ns, "single", m1.Add(time.Second))
	waitJobNames(t, ns, "single", jobNameAt("single", m1))
	waitCronStatus(t, ns, "single", "active", func(c *batchv1.CronJob) bool { return len(c.Status.Active) == 1 })

	m2 := m1.Add(time.Minute)
	tickTo(t, ns, "single", m2.Add(time.Second))
	if msg := waitEvent(t, ns, "single", "JobAlreadyActive"); msg != "Not starting job because prior execution is running and concurrency policy is Forbid" {
		t.Errorf("event message %q", msg)
	}
	if jobs, _ := cronJobs(context.Background(), ns, "single"); len(jobs) != 1 {
		t.Errorf("forbid: %d jobs, want 1", len(jobs))
	}
	// Once the first finishes, the missed run starts.
	completeJob(t, ns, jobNameAt("single", m1), false, m2.Add(2*time.Second))
	tickTo(t, ns, "single", m2.Add(3*time.Second))
	waitJobNames(t, ns, "single", jobNameAt("single", m1), jobNameAt("single", m2))
}

func TestCronJobReplace(t *testing.T) {
	ns := namespace(t)
	cj := createCronJob(t, ns, "latest", func(s *batchv1.CronJobSpec) { s.ConcurrencyPolicy = batchv1.ReplaceConcurrent })
	m1 := firstMinute(cj)
	tickTo(t, ns, "latest", m1.Add(time.Second))
	first := waitJobNames(t, ns, "latest", jobNameAt("latest", m1))[0]
	waitCronStatus(t, ns, "latest", "active", func(c *batchv1.CronJob) bool { return len(c.Status.Active) == 1 })

	m2 := m1.Add(time.Minute)
	tickTo(t, ns, "latest", m2.Add(time.Second))
	second := waitJobNames(t, ns, "latest", jobNameAt("latest", m2))[0]
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		j, err := getJob(ctx, ns, first.Name)
		return apierrors.IsNotFound(err) || (err == nil && j.DeletionTimestamp != nil), nil
	}, "replaced job deleted")
	waitCronStatus(t, ns, "latest", "only the new job active", func(c *batchv1.CronJob) bool {
		return len(c.Status.Active) == 1 && c.Status.Active[0].UID == second.UID
	})
	waitEvent(t, ns, "latest", "SuccessfulDelete")
}

func TestCronJobHistoryLimits(t *testing.T) {
	ns := namespace(t)
	cj := createCronJob(t, ns, "hist", func(s *batchv1.CronJobSpec) {
		s.SuccessfulJobsHistoryLimit = ptr.To[int32](1)
		s.FailedJobsHistoryLimit = ptr.To[int32](1)
	})
	m := firstMinute(cj)
	var names []string
	outcomes := []bool{true, false, true, false}
	for i, ok := range outcomes {
		at := m.Add(time.Duration(i) * time.Minute)
		tickTo(t, ns, "hist", at.Add(time.Second))
		name := jobNameAt("hist", at)
		names = append(names, name)
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			_, err := getJob(ctx, ns, name)
			return err == nil, nil
		}, "job %s", name)
		completeJob(t, ns, name, ok, at.Add(2*time.Second))
	}
	// The newest success and the newest failure are kept.
	tickTo(t, ns, "hist", m.Add(3*time.Minute+3*time.Second))
	waitJobNames(t, ns, "hist", names[2], names[3])
	waitCronStatus(t, ns, "hist", "no active", func(c *batchv1.CronJob) bool { return len(c.Status.Active) == 0 })
}
