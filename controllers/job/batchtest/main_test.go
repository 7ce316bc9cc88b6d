package batchtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/cronjob"
	"github.com/skiff-dev/skiff/controllers/job"
	"github.com/skiff-dev/skiff/controllers/ttlafterfinished"
)

var (
	env *controllertest.Env
	// cronClock drives the cronjob controller; tests only move it forward.
	cronClock = clocktesting.NewFakeClock(time.Now())
)

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{
		// A short pod-failure backoff keeps retries quick; its doubling is
		// unit-tested.
		job.NewDescriptor(job.Options{PodFailureBackoff: 50 * time.Millisecond, MaxPodFailureBackoff: 200 * time.Millisecond}),
		cronjob.NewDescriptor(cronjob.Options{Clock: cronClock}),
		ttlafterfinished.Descriptor,
	}})
}

// namespace is a fresh namespace (with its default service account), whose
// state is dumped if the test fails.
func namespace(t *testing.T) string {
	t.Helper()
	ns := env.Namespace(t)
	t.Cleanup(func() {
		if t.Failed() {
			dump(t, ns)
		}
	})
	return ns
}

// dump logs the namespace's events and CronJob and Job statuses, to
// explain a failure.
func dump(t *testing.T, ns string) {
	ctx := context.Background()
	if evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range evs.Items {
			t.Logf("event %s/%s %s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Type, e.Reason, e.Message)
		}
	}
	if cjs, err := env.Client.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, c := range cjs.Items {
			t.Logf("cronjob %s created %s: %+v (clock %s)", c.Name, c.CreationTimestamp, c.Status, cronClock.Now())
		}
	}
	if jobs, err := env.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, j := range jobs.Items {
			t.Logf("job %s: %+v", j.Name, j.Status)
		}
	}
}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
	}}
}

func createJob(t *testing.T, ns, name string, mutate func(*batchv1.JobSpec)) *batchv1.Job {
	t.Helper()
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: batchv1.JobSpec{Template: podTemplate()}}
	if mutate != nil {
		mutate(&j.Spec)
	}
	out, err := env.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create job %s: %v", name, err)
	}
	return out
}

func getJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	return env.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
}

// jobPods lists the Job's pods (by its uid label), oldest first.
func jobPods(ctx context.Context, ns string, uid types.UID) ([]corev1.Pod, error) {
	list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + string(uid)})
	if err != nil {
		return nil, err
	}
	pods := list.Items
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return pods, nil
}

func activePods(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// waitActive waits for exactly n active pods of the Job and returns them.
func waitActive(t *testing.T, ns string, uid types.UID, n int) []corev1.Pod {
	t.Helper()
	var active []corev1.Pod
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pods, err := jobPods(ctx, ns, uid)
		if err != nil {
			return false, err
		}
		active = activePods(pods)
		return len(active) == n, nil
	}, "%d active pods", n)
	return active
}

// finish plays kubelet: the pod's container terminates with exitCode and
// the pod turns Succeeded (exit 0) or Failed.
func finish(t *testing.T, ns, name string, exitCode int32) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx := context.Background()
		pod, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Status.Phase = corev1.PodSucceeded
		reason := "Completed"
		if exitCode != 0 {
			pod.Status.Phase, reason = corev1.PodFailed, "Error"
		}
		now := metav1.Now()
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "main", Image: "busybox", ImageID: "docker.io/library/busybox@sha256:0",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason, StartedAt: now, FinishedAt: now}},
		}}
		_, err = env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("finish pod %s: %v", name, err)
	}
}

func condition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == typ {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func isTrue(j *batchv1.Job, typ batchv1.JobConditionType) bool {
	c := condition(j, typ)
	return c != nil && c.Status == corev1.ConditionTrue
}

// waitJob waits for the Job to satisfy cond and returns it.
func waitJob(t *testing.T, ns, name string, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		j, err = getJob(ctx, ns, name)
		if err != nil {
			return false, err
		}
		return cond(j), nil
	}, "job %s: %s", name, what)
	return j
}

// waitEvent waits for an event of the object with the reason and returns
// its message.
func waitEvent(t *testing.T, ns, object, reason string) string {
	t.Helper()
	var msg string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		list, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == object && e.Reason == reason {
				msg = e.Message
				return true, nil
			}
		}
		return false, nil
	}, "event %s on %s", reason, object)
	return msg
}

func podNames(pods []corev1.Pod) string {
	var names []string
	for _, p := range pods {
		names = append(names, fmt.Sprintf("%s(%s)", p.Name, p.Status.Phase))
	}
	return strings.Join(names, ",")
}
