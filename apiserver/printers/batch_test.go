package printers

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestJobRows(t *testing.T) {
	job := func(mutate func(j *batchv1.Job)) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: objMeta("pi", 2*time.Hour), Spec: batchv1.JobSpec{Selector: webSelector, Template: twoContainers}}
		mutate(j)
		return j
	}
	cond := func(t batchv1.JobConditionType, s corev1.ConditionStatus) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: t, Status: s}}
	}
	wide := []any{"app,sidecar", "nginx:1.27,envoy", "app=web"}
	row := func(status, completions, took string) []any {
		return append([]any{"pi", status, completions, took, "120m"}, wide...)
	}
	testRows(t, schema.GroupResource{Group: "batch", Resource: "jobs"}, []rowCase{
		{name: "complete", obj: job(func(j *batchv1.Job) {
			j.Spec.Completions = ptr.To[int32](3)
			j.Status = batchv1.JobStatus{Succeeded: 3, StartTime: ptr.To(ago(time.Hour)), CompletionTime: ptr.To(ago(59 * time.Minute)), Conditions: cond(batchv1.JobComplete, corev1.ConditionTrue)}
		}), cells: row("Complete", "3/3", "60s")},
		{name: "running", obj: job(func(j *batchv1.Job) {
			j.Status = batchv1.JobStatus{StartTime: ptr.To(ago(90 * time.Second))}
		}), cells: row("Running", "0/1", "90s")},
		{name: "parallel without completions", obj: job(func(j *batchv1.Job) {
			j.Spec.Parallelism = ptr.To[int32](4)
			j.Status = batchv1.JobStatus{Succeeded: 1}
		}), cells: row("Running", "1/1 of 4", "")},
		{name: "failed", obj: job(func(j *batchv1.Job) {
			j.Status.Conditions = cond(batchv1.JobFailed, corev1.ConditionTrue)
		}), cells: row("Failed", "0/1", "")},
		{name: "terminating", obj: job(func(j *batchv1.Job) {
			j.DeletionTimestamp = ptr.To(ago(time.Second))
			j.Status.Conditions = cond(batchv1.JobSuspended, corev1.ConditionTrue)
		}), cells: row("Terminating", "0/1", "")},
		{name: "suspended", obj: job(func(j *batchv1.Job) {
			j.Status.Conditions = cond(batchv1.JobSuspended, corev1.ConditionTrue)
		}), cells: row("Suspended", "0/1", "")},
		{name: "failure target", obj: job(func(j *batchv1.Job) {
			j.Status.Conditions = cond(batchv1.JobFailureTarget, corev1.ConditionTrue)
		}), cells: row("FailureTarget", "0/1", "")},
		{name: "success criteria met", obj: job(func(j *batchv1.Job) {
			j.Status.Conditions = cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)
		}), cells: row("SuccessCriteriaMet", "0/1", "")},
		{name: "false condition", obj: job(func(j *batchv1.Job) {
			j.Status.Conditions = cond(batchv1.JobComplete, corev1.ConditionFalse)
		}), cells: row("Running", "0/1", "")},
	})
}

func TestCronJobRows(t *testing.T) {
	jobTemplate := batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Selector: webSelector, Template: twoContainers}}
	testRows(t, schema.GroupResource{Group: "batch", Resource: "cronjobs"}, []rowCase{
		{
			name: "scheduled",
			obj: &batchv1.CronJob{ObjectMeta: objMeta("backup", 10*day),
				Spec:   batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("Europe/Paris"), Suspend: ptr.To(false), JobTemplate: jobTemplate},
				Status: batchv1.CronJobStatus{Active: make([]corev1.ObjectReference, 1), LastScheduleTime: ptr.To(ago(9 * time.Hour))}},
			cells: []any{"backup", "0 3 * * *", "Europe/Paris", "False", int64(1), "9h", "10d", "app,sidecar", "nginx:1.27,envoy", "app=web"},
		},
		{
			name:  "never run",
			obj:   &batchv1.CronJob{ObjectMeta: objMeta("c", 10*day), Spec: batchv1.CronJobSpec{Schedule: "@hourly", Suspend: ptr.To(true)}},
			cells: []any{"c", "@hourly", "<none>", "True", int64(0), "<none>", "10d", "", "", "<none>"},
		},
		{
			name:  "suspend unset",
			obj:   &batchv1.CronJob{ObjectMeta: objMeta("c", 10*day), Spec: batchv1.CronJobSpec{Schedule: "@daily"}},
			cells: []any{"c", "@daily", "<none>", "<unset>", int64(0), "<none>", "10d", "", "", "<none>"},
		},
	})
}
