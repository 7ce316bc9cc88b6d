package batchtest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
)

func TestCompletionsWithParallelism(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "work", func(s *batchv1.JobSpec) {
		s.Completions, s.Parallelism = ptr.To[int32](3), ptr.To[int32](2)
	})
	active := waitActive(t, ns, j.UID, 2)
	for _, p := range active {
		if !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
			t.Errorf("pod %s has no tracking finalizer: %v", p.Name, p.Finalizers)
		}
		for _, l := range []string{batchv1.JobNameLabel, batchv1.ControllerUidLabel, "job-name", "controller-uid"} {
			if p.Labels[l] == "" {
				t.Errorf("pod %s lacks label %s: %v", p.Name, l, p.Labels)
			}
		}
		if !strings.HasPrefix(p.Name, "work-") {
			t.Errorf("pod name %q does not start with the job name", p.Name)
		}
	}
	waitJob(t, ns, "work", "2 active", func(j *batchv1.Job) bool {
		return j.Status.Active == 2 && j.Status.StartTime != nil && ptr.Deref(j.Status.Ready, -1) == 0
	})

	// One fails: it is counted and replaced (after the backoff).
	finish(t, ns, active[0].Name, 1)
	waitJob(t, ns, "work", "1 failed", func(j *batchv1.Job) bool { return j.Status.Failed == 1 })
	active = waitActive(t, ns, j.UID, 2)

	// Two succeed: only one more pod is needed, parallelism notwithstanding.
	finish(t, ns, active[0].Name, 0)
	finish(t, ns, active[1].Name, 0)
	waitJob(t, ns, "work", "2 succeeded", func(j *batchv1.Job) bool { return j.Status.Succeeded == 2 })
	last := waitActive(t, ns, j.UID, 1)
	finish(t, ns, last[0].Name, 0)

	done := waitJob(t, ns, "work", "Complete", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobComplete) })
	if done.Status.Succeeded != 3 || done.Status.Failed != 1 || done.Status.Active != 0 {
		t.Errorf("status succeeded/failed/active = %d/%d/%d, want 3/1/0", done.Status.Succeeded, done.Status.Failed, done.Status.Active)
	}
	if !isTrue(done, batchv1.JobSuccessCriteriaMet) {
		t.Errorf("no SuccessCriteriaMet condition: %+v", done.Status.Conditions)
	}
	if c := condition(done, batchv1.JobComplete); c.Reason != batchv1.JobReasonCompletionsReached {
		t.Errorf("Complete reason %q, want %q", c.Reason, batchv1.JobReasonCompletionsReached)
	}
	if done.Status.CompletionTime == nil {
		t.Error("no completionTime")
	}
	if u := done.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		t.Errorf("uncounted pods left: %+v", u)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pods, err := jobPods(ctx, ns, j.UID)
		if err != nil {
			return false, err
		}
		if len(pods) != 4 {
			return false, nil
		}
		for _, p := range pods {
			if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				return false, nil
			}
		}
		return true, nil
	}, "4 pods without tracking finalizers")
	waitEvent(t, ns, "work", "Completed")
}

func TestBackoffLimitExceeded(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "flaky", func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](1) })
	for i := 0; i < 2; i++ {
		pods := waitActive(t, ns, j.UID, 1)
		finish(t, ns, pods[0].Name, 2)
	}
	failed := waitJob(t, ns, "flaky", "Failed", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobFailed) })
	c := condition(failed, batchv1.JobFailed)
	if c.Reason != batchv1.JobReasonBackoffLimitExceeded || c.Message != "Job has reached the specified backoff limit" {
		t.Errorf("Failed condition %q: %q", c.Reason, c.Message)
	}
	if !isTrue(failed, batchv1.JobFailureTarget) {
		t.Errorf("no FailureTarget condition: %+v", failed.Status.Conditions)
	}
	if failed.Status.Failed != 2 || failed.Status.Active != 0 || failed.Status.CompletionTime != nil {
		t.Errorf("status failed=%d active=%d completionTime=%v", failed.Status.Failed, failed.Status.Active, failed.Status.CompletionTime)
	}
	if msg := waitEvent(t, ns, "flaky", batchv1.JobReasonBackoffLimitExceeded); msg != c.Message {
		t.Errorf("event message %q", msg)
	}
	pods, err := jobPods(context.Background(), ns, j.UID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 {
		t.Errorf("pods %s, want the two failed ones", podNames(pods))
	}
}

func TestIndexedJob(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "idx", func(s *batchv1.JobSpec) {
		s.Completions, s.Parallelism = ptr.To[int32](3), ptr.To[int32](3)
		s.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	})
	pods := waitActive(t, ns, j.UID, 3)
	byIndex := map[string]corev1.Pod{}
	for _, p := range pods {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix {
			t.Errorf("pod %s: index label %q, annotation %q", p.Name, p.Labels[batchv1.JobCompletionIndexAnnotation], ix)
		}
		if want := "idx-" + ix; p.Spec.Hostname != want || !strings.HasPrefix(p.Name, want+"-") {
			t.Errorf("pod %s: hostname %q, want %q and a name prefixed by it", p.Name, p.Spec.Hostname, want)
		}
		env := p.Spec.Containers[0].Env
		if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool {
			return e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
				e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
		}) {
			t.Errorf("pod %s: no JOB_COMPLETION_INDEX in %+v", p.Name, env)
		}
		byIndex[ix] = p
	}
	if len(byIndex) != 3 || byIndex["0"].Name == "" || byIndex["1"].Name == "" || byIndex["2"].Name == "" {
		t.Fatalf("indexes of pods: %v", byIndex)
	}
	finish(t, ns, byIndex["1"].Name, 0)
	waitJob(t, ns, "idx", `completedIndexes "1"`, func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "1" && j.Status.Succeeded == 1 })

	// A failed index is retried with a new pod of the same index.
	finish(t, ns, byIndex["2"].Name, 3)
	var retried corev1.Pod
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		all, err := jobPods(ctx, ns, j.UID)
		if err != nil {
			return false, err
		}
		for _, p := range activePods(all) {
			if p.Annotations[batchv1.JobCompletionIndexAnnotation] == "2" {
				retried = p
				return true, nil
			}
		}
		return false, nil
	}, "index 2 recreated")
	finish(t, ns, byIndex["0"].Name, 0)
	finish(t, ns, retried.Name, 0)
	done := waitJob(t, ns, "idx", "Complete", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobComplete) })
	if done.Status.CompletedIndexes != "0-2" || done.Status.Succeeded != 3 || done.Status.Failed != 1 {
		t.Errorf("completedIndexes %q succeeded %d failed %d", done.Status.CompletedIndexes, done.Status.Succeeded, done.Status.Failed)
	}
}

func TestBackoffLimitPerIndex(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "perindex", func(s *batchv1.JobSpec) {
		s.Completions, s.Parallelism = ptr.To[int32](2), ptr.To[int32](2)
		s.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		s.BackoffLimitPerIndex = ptr.To[int32](0)
	})
	pods := waitActive(t, ns, j.UID, 2)
	for _, p := range pods {
		if p.Annotations[batchv1.JobCompletionIndexAnnotation] == "0" {
			finish(t, ns, p.Name, 1)
		} else {
			finish(t, ns, p.Name, 0)
		}
	}
	failed := waitJob(t, ns, "perindex", "Failed", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobFailed) })
	if c := condition(failed, batchv1.JobFailed); c.Reason != batchv1.JobReasonFailedIndexes {
		t.Errorf("Failed reason %q, want %q", c.Reason, batchv1.JobReasonFailedIndexes)
	}
	if ptr.Deref(failed.Status.FailedIndexes, "") != "0" || failed.Status.CompletedIndexes != "1" {
		t.Errorf("failedIndexes %v completedIndexes %q", failed.Status.FailedIndexes, failed.Status.CompletedIndexes)
	}
}

func TestPodFailurePolicyFailJob(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "pfp", func(s *batchv1.JobSpec) {
		s.Completions, s.Parallelism = ptr.To[int32](2), ptr.To[int32](2)
		s.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{7}}},
			{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		}}
	})
	pods := waitActive(t, ns, j.UID, 2)
	// Exit code 7 is ignored: replaced, not counted.
	finish(t, ns, pods[0].Name, 7)
	pods = waitActive(t, ns, j.UID, 2)
	if got, _ := getJob(context.Background(), ns, "pfp"); got.Status.Failed != 0 {
		t.Errorf("ignored failure counted: failed=%d", got.Status.Failed)
	}
	finish(t, ns, pods[0].Name, 42)
	failed := waitJob(t, ns, "pfp", "Failed", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobFailed) })
	c := condition(failed, batchv1.JobFailed)
	want := "Container main for pod " + ns + "/" + pods[0].Name + " failed with exit code 42 matching FailJob rule at index 1"
	if c.Reason != batchv1.JobReasonPodFailurePolicy || c.Message != want {
		t.Errorf("Failed condition %q: %q, want %q: %q", c.Reason, c.Message, batchv1.JobReasonPodFailurePolicy, want)
	}
	// The other running pod was terminated and counted as failed.
	if failed.Status.Failed != 2 || failed.Status.Active != 0 || ptr.Deref(failed.Status.Terminating, -1) != 0 {
		t.Errorf("status failed=%d active=%d terminating=%v", failed.Status.Failed, failed.Status.Active, failed.Status.Terminating)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, pods[1].Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "running pod %s deleted", pods[1].Name)
}

func TestSuspendAndResume(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "later", func(s *batchv1.JobSpec) {
		s.Suspend = ptr.To(true)
		s.Parallelism, s.Completions = ptr.To[int32](2), ptr.To[int32](4)
	})
	suspended := waitJob(t, ns, "later", "Suspended", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobSuspended) })
	if c := condition(suspended, batchv1.JobSuspended); c.Reason != "JobSuspended" || c.Message != "Job suspended" {
		t.Errorf("Suspended condition %q: %q", c.Reason, c.Message)
	}
	if suspended.Status.StartTime != nil {
		t.Errorf("suspended job has startTime %v", suspended.Status.StartTime)
	}
	if pods, err := jobPods(context.Background(), ns, j.UID); err != nil || len(pods) != 0 {
		t.Fatalf("suspended job has pods %s (%v)", podNames(pods), err)
	}

	setSuspend(t, ns, "later", false)
	waitActive(t, ns, j.UID, 2)
	resumed := waitJob(t, ns, "later", "resumed", func(j *batchv1.Job) bool {
		c := condition(j, batchv1.JobSuspended)
		return c != nil && c.Status == corev1.ConditionFalse && j.Status.StartTime != nil && j.Status.Active == 2
	})
	if c := condition(resumed, batchv1.JobSuspended); c.Reason != "JobResumed" {
		t.Errorf("resume reason %q", c.Reason)
	}
	waitEvent(t, ns, "later", "Resumed")

	setSuspend(t, ns, "later", true)
	waitActive(t, ns, j.UID, 0)
	again := waitJob(t, ns, "later", "suspended again", func(j *batchv1.Job) bool {
		return isTrue(j, batchv1.JobSuspended) && j.Status.Active == 0
	})
	if again.Status.Failed != 0 {
		t.Errorf("pods removed by suspension counted as failed: %d", again.Status.Failed)
	}
}

func setSuspend(t *testing.T, ns, name string, suspend bool) {
	t.Helper()
	patch := `{"spec":{"suspend":false}}`
	if suspend {
		patch = `{"spec":{"suspend":true}}`
	}
	if _, err := env.Client.BatchV1().Jobs(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("suspend=%v: %v", suspend, err)
	}
}

func TestManagedByOtherController(t *testing.T) {
	ns := namespace(t)
	other := createJob(t, ns, "external", func(s *batchv1.JobSpec) { s.ManagedBy = ptr.To("example.com/other") })
	ours := createJob(t, ns, "ours", nil)
	// Once our Job has its pod, the other one has been seen too.
	waitActive(t, ns, ours.UID, 1)
	waitJob(t, ns, "ours", "startTime", func(j *batchv1.Job) bool { return j.Status.StartTime != nil })
	got, err := getJob(context.Background(), ns, "external")
	if err != nil {
		t.Fatal(err)
	}
	pods, err := jobPods(context.Background(), ns, other.UID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 0 || got.Status.StartTime != nil || len(got.Status.Conditions) != 0 {
		t.Errorf("job managed by another controller was touched: pods %s, status %+v", podNames(pods), got.Status)
	}
}

func TestTTLAfterFinished(t *testing.T) {
	ns := namespace(t)
	// A finished Job without a TTL stays.
	keep := createJob(t, ns, "keeper", nil)
	pods := waitActive(t, ns, keep.UID, 1)
	finish(t, ns, pods[0].Name, 0)
	waitJob(t, ns, "keeper", "Complete", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobComplete) })

	// With a 1s TTL the Job may be gone before a poll sees it Complete: a
	// watch sees both, in order.
	w, err := env.Client.BatchV1().Jobs(ns).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=shortlived"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	j := createJob(t, ns, "shortlived", func(s *batchv1.JobSpec) { s.TTLSecondsAfterFinished = ptr.To[int32](1) })
	pods = waitActive(t, ns, j.UID, 1)
	finish(t, ns, pods[0].Name, 0)
	completed := false
	deadline := time.After(controllertest.DefaultTimeout)
	for deleted := false; !deleted; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch of the job ended")
			}
			if job, isJob := ev.Object.(*batchv1.Job); isJob {
				completed = completed || isTrue(job, batchv1.JobComplete)
			}
			deleted = ev.Type == watch.Deleted
		case <-deadline:
			t.Fatalf("finished job not deleted after its TTL within %s (seen Complete: %v)", controllertest.DefaultTimeout, completed)
		}
	}
	if !completed {
		t.Error("job deleted before it was seen Complete")
	}
	if _, err := getJob(context.Background(), ns, "keeper"); err != nil {
		t.Errorf("job without a TTL: %v", err)
	}
}

func TestActiveDeadline(t *testing.T) {
	ns := namespace(t)
	// The pod may be gone at the 1s deadline before a poll sees it: a watch
	// names it.
	w, err := env.Client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	createJob(t, ns, "slow", func(s *batchv1.JobSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](1) })
	var podName string
	select {
	case ev, ok := <-w.ResultChan():
		pod, isPod := ev.Object.(*corev1.Pod)
		if !ok || !isPod {
			t.Fatalf("watch of the job's pods: %v", ev)
		}
		podName = pod.Name
	case <-time.After(controllertest.DefaultTimeout):
		t.Fatalf("no pod created within %s", controllertest.DefaultTimeout)
	}
	failed := waitJob(t, ns, "slow", "Failed", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobFailed) })
	if c := condition(failed, batchv1.JobFailed); c.Reason != batchv1.JobReasonDeadlineExceeded || c.Message != "Job was active longer than specified deadline" {
		t.Errorf("Failed condition %q: %q", c.Reason, c.Message)
	}
	if failed.Status.Active != 0 || failed.Status.Failed != 1 {
		t.Errorf("active %d failed %d, want 0 and 1", failed.Status.Active, failed.Status.Failed)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "running pod deleted at the deadline")
}

func TestSuccessPolicy(t *testing.T) {
	ns := namespace(t)
	j := createJob(t, ns, "leader", func(s *batchv1.JobSpec) {
		s.Completions, s.Parallelism = ptr.To[int32](3), ptr.To[int32](3)
		s.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		s.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0")}}}
	})
	for _, p := range waitActive(t, ns, j.UID, 3) {
		if p.Annotations[batchv1.JobCompletionIndexAnnotation] == "0" {
			finish(t, ns, p.Name, 0)
		}
	}
	done := waitJob(t, ns, "leader", "Complete", func(j *batchv1.Job) bool { return isTrue(j, batchv1.JobComplete) })
	for _, typ := range []batchv1.JobConditionType{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete} {
		if c := condition(done, typ); c.Reason != batchv1.JobReasonSuccessPolicy || c.Message != "Matched rules at index 0" {
			t.Errorf("%s condition %q: %q", typ, c.Reason, c.Message)
		}
	}
	if done.Status.CompletedIndexes != "0" || done.Status.Active != 0 || done.Status.Failed != 0 {
		t.Errorf("completedIndexes %q active %d failed %d", done.Status.CompletedIndexes, done.Status.Active, done.Status.Failed)
	}
	waitActive(t, ns, j.UID, 0)
}
