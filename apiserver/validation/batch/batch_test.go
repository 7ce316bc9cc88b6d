package batch

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/defaults"
	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func defaulted[T runtime.Object](t *testing.T, obj T) T {
	t.Helper()
	s := runtime.NewScheme()
	if err := defaults.AddToScheme(s); err != nil {
		t.Fatalf("register defaults: %v", err)
	}
	s.Default(obj)
	return obj
}

// createdJob is a Job as the registry stores it: defaulted, with a UID and
// a generated selector.
func createdJob(t *testing.T, mutate func(*batchv1.Job)) *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "work", Namespace: "default", UID: "uid-1", ResourceVersion: "1"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox:1.37"}},
		}}},
	}
	if mutate != nil {
		mutate(job)
	}
	job = defaulted(t, job)
	GenerateJobSelector(job)
	return job
}

func TestGenerateJobSelector(t *testing.T) {
	job := createdJob(t, nil)
	want := map[string]string{
		"job-name": "work", "batch.kubernetes.io/job-name": "work",
		"controller-uid": "uid-1", "batch.kubernetes.io/controller-uid": "uid-1",
	}
	for k, v := range want {
		if job.Spec.Template.Labels[k] != v {
			t.Errorf("template label %s = %q, want %q", k, job.Spec.Template.Labels[k], v)
		}
	}
	if got := job.Spec.Selector.MatchLabels; len(got) != 1 || got["batch.kubernetes.io/controller-uid"] != "uid-1" {
		t.Errorf("selector = %v, want only the controller-uid label", got)
	}
	vt.Expect(t, ValidateJob(job))

	manual := &batchv1.Job{Spec: batchv1.JobSpec{ManualSelector: ptr.To(true)}}
	GenerateJobSelector(manual)
	if manual.Spec.Selector != nil || manual.Spec.Template.Labels != nil {
		t.Errorf("a manual selector was generated: %+v", manual.Spec)
	}
}

func TestValidateJob(t *testing.T) {
	tests := []struct {
		name string
		job  *batchv1.Job
		want []vt.Want
	}{
		{name: "no UID", job: func() *batchv1.Job {
			j := createdJob(t, nil)
			j.UID = ""
			return j
		}(), want: []vt.Want{
			vt.Required("metadata.uid", ""),
			vt.Invalid("spec.template.metadata.labels[controller-uid]", "must be ''"),
			vt.Invalid("spec.template.metadata.labels[batch.kubernetes.io/controller-uid]", "must be ''"),
			vt.Invalid("spec.selector", "`selector` not auto-generated"),
		}},
		{name: "selector not generated", job: func() *batchv1.Job {
			j := createdJob(t, nil)
			delete(j.Spec.Template.Labels, "job-name")
			return j
		}(), want: []vt.Want{vt.Required("spec.template.metadata.labels[job-name]", "must be 'work'")}},
		{name: "manual selector", job: createdJob(t, func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			j.Spec.Template.Labels = map[string]string{"app": "x"}
		})},
		{name: "indexed without completions", job: createdJob(t, func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Parallelism = ptr.To[int32](200_000)
		}), want: []vt.Want{
			vt.Required("spec.completions", "when completion mode is Indexed"),
			vt.Invalid("spec.parallelism", "must be less than or equal to 100000 when completion mode is Indexed"),
		}},
		{name: "many completions with a per-index limit", job: createdJob(t, func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](200_000), ptr.To[int32](20_000)
			j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
		}), want: []vt.Want{
			vt.Required("spec.maxFailedIndexes", "must be specified when completions is above 100000"),
			vt.Invalid("spec.parallelism", "must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index"),
		}},
		{name: "pod failure policy needs Never", job: createdJob(t, func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes:     &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}},
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "Ready", Status: "Maybe"}},
			}, {Action: "Explode", OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "bad type!"}}}}}
		}), want: []vt.Want{
			vt.Invalid("spec.template.spec.restartPolicy", `only "Never" is supported when podFailurePolicy is specified`),
			vt.Invalid("spec.podFailurePolicy.rules[0]", "specifying both OnExitCodes and OnPodConditions is not supported"),
			vt.NotSupported("spec.podFailurePolicy.rules[0].onPodConditions[0].status", `supported values: "False", "True", "Unknown"`),
			vt.NotSupported("spec.podFailurePolicy.rules[1].action", `supported values: "Count", "FailIndex", "FailJob", "Ignore"`),
			vt.Invalid("spec.podFailurePolicy.rules[1].onPodConditions[0].type", "name part must consist of"),
		}},
		{name: "empty pod failure policy rule action", job: createdJob(t, func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Values: []int32{1}},
			}}}
		}), want: []vt.Want{
			vt.Required("spec.podFailurePolicy.rules[0].action", `valid values: ["Count" "FailIndex" "FailJob" "Ignore"]`),
			vt.Required("spec.podFailurePolicy.rules[0].onExitCodes.operator", `valid values: ["In" "NotIn"]`),
		}},
		{name: "success policy without rules", job: createdJob(t, func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](3)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{}, {SucceededCount: ptr.To[int32](4), SucceededIndexes: ptr.To("2-1")}}}
		}), want: []vt.Want{
			vt.Required("spec.successPolicy.rules[0]", "at least one of succeededCount or succeededIndexes must be specified"),
			vt.Invalid("spec.successPolicy.rules[1].succeededIndexes", "error parsing succeededIndexes: non-increasing order, previous: 2, current: 1"),
			vt.Invalid("spec.successPolicy.rules[1].succeededCount", "must be less than or equal to 3 (the number of specified completions)"),
			vt.Invalid("spec.successPolicy.rules[1].succeededCount", "must be less than or equal to 0 (the number of indexes in the specified succeededIndexes field)"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateJob(tt.job), tt.want...)
		})
	}
}

func TestValidateJobUpdate(t *testing.T) {
	suspended := createdJob(t, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) })
	running := createdJob(t, nil)
	indexed := createdJob(t, func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](3)
	})
	tests := []struct {
		name   string
		old    *batchv1.Job
		mutate func(*batchv1.Job)
		want   []vt.Want
	}{
		{name: "parallelism and suspend are mutable", old: running, mutate: func(j *batchv1.Job) {
			j.Spec.Parallelism = ptr.To[int32](4)
			j.Spec.Suspend = ptr.To(true)
			j.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		}},
		{name: "template of a running Job", old: running, mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
		}, want: []vt.Want{vt.Invalid("spec.template", "field is immutable")}},
		{name: "scheduling directives of a suspended Job", old: suspended, mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
			j.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
			j.Spec.Template.Annotations = map[string]string{"note": "x"}
		}},
		{name: "resources of a suspended Job", old: suspended, mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}},
		{name: "image of a suspended Job", old: suspended, mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Image = "busybox:1.38"
		}, want: []vt.Want{vt.Invalid("spec.template.spec", "field is immutable")}},
		{name: "completions of a NonIndexed Job", old: running, mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) },
			want: []vt.Want{vt.Invalid("spec.completions", "field is immutable")}},
		{name: "completions with parallelism of an Indexed Job", old: indexed, mutate: func(j *batchv1.Job) {
			j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](5), ptr.To[int32](5)
		}},
		{name: "completions alone of an Indexed Job", old: indexed, mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](5) },
			want: []vt.Want{vt.Invalid("spec.completions", "can only be modified in tandem with spec.parallelism")}},
		{name: "immutable fields", old: running, mutate: func(j *batchv1.Job) {
			j.Spec.ManagedBy = ptr.To("example.com/controller")
			j.Spec.Selector.MatchLabels["extra"] = "x"
		}, want: []vt.Want{
			vt.Invalid("spec.managedBy", "field is immutable"),
			vt.Invalid("spec.selector", "field is immutable"),
			vt.Invalid("spec.selector", "`selector` not auto-generated"),
			// The selector no longer matches the template, checked by
			// both the create and the update rules, as upstream.
			vt.Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`"),
			vt.Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`"),
		}},
		{name: "Jobs from before the prefixed labels", old: func() *batchv1.Job {
			// Before 1.27, only the legacy labels were generated and selected.
			j := running.DeepCopy()
			delete(j.Spec.Template.Labels, batchv1.JobNameLabel)
			delete(j.Spec.Template.Labels, batchv1.ControllerUidLabel)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"controller-uid": "uid-1"}}
			return j
		}(), mutate: func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](2) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			updated := tt.old.DeepCopy()
			tt.mutate(updated)
			vt.Expect(t, ValidateJobUpdate(updated, tt.old), tt.want...)
		})
	}
}

func TestValidateJobStatusUpdate(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	earlier := metav1.NewTime(now.Add(-time.Minute))
	cond := func(t batchv1.JobConditionType) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue}
	}
	started := createdJob(t, nil)
	started.Status = batchv1.JobStatus{StartTime: &earlier, Active: 1}
	indexed := createdJob(t, func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.Completions = ptr.To[int32](4)
		j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
	})
	indexed.Status = batchv1.JobStatus{StartTime: &earlier}
	tests := []struct {
		name   string
		old    *batchv1.Job
		status func(*batchv1.JobStatus)
		want   []vt.Want
	}{
		{name: "complete properly", old: started, status: func(s *batchv1.JobStatus) {
			s.Active, s.Succeeded = 0, 1
			s.CompletionTime = &now
			s.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet), cond(batchv1.JobComplete)}
		}},
		{name: "complete without criteria, time or stopping pods", old: started, status: func(s *batchv1.JobStatus) {
			s.Conditions = []batchv1.JobCondition{cond(batchv1.JobComplete)}
			s.Ready = ptr.To[int32](2)
		}, want: []vt.Want{
			vt.Invalid("status.conditions", "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"),
			vt.Required("status.completionTime", "completionTime is required for Complete jobs"),
			vt.Invalid("status.active", "active>0 is invalid for finished job"),
			vt.Invalid("status.ready", "cannot set more ready pods than active"),
		}},
		{name: "failed without target", old: started, status: func(s *batchv1.JobStatus) {
			s.Active = 0
			s.Failed = 1
			s.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailed)}
		}, want: []vt.Want{vt.Invalid("status.conditions", "cannot set Failed=True condition without the FailureTarget=true condition")}},
		{name: "counters and start time", old: func() *batchv1.Job {
			j := started.DeepCopy()
			j.Status.Failed, j.Status.Succeeded = 2, 2
			return j
		}(), status: func(s *batchv1.JobStatus) {
			s.Failed, s.Succeeded = 1, 1
			s.StartTime = &now
			s.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a", ""}, Failed: []types.UID{"a"}}
		}, want: []vt.Want{
			vt.Invalid("status.failed", "cannot decrease the failed counter"),
			vt.Invalid("status.succeeded", "cannot decrease the succeeded counter"),
			vt.Invalid("status.startTime", "field is immutable for unsuspended job once set"),
			vt.Invalid("status.uncountedTerminatedPods.succeeded[1]", "must not be empty"),
			{Type: "FieldValueDuplicate", Field: "status.uncountedTerminatedPods.failed[0]"},
		}},
		{name: "terminal condition removed", old: func() *batchv1.Job {
			j := started.DeepCopy()
			j.Status.Active = 0
			j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget), cond(batchv1.JobFailed)}
			return j
		}(), status: func(s *batchv1.JobStatus) {
			s.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget)}
		}, want: []vt.Want{vt.Invalid("status.conditions", "cannot disable the terminal Failed=True condition")}},
		{name: "indexes", old: indexed, status: func(s *batchv1.JobStatus) {
			s.CompletedIndexes = "0-2"
			s.FailedIndexes = ptr.To("2,7")
		}, want: []vt.Want{
			vt.Invalid("status.failedIndexes", `error parsing failedIndexes: too large index: "7"`),
			vt.Invalid("status.failedIndexes", "failedIndexes and completedIndexes overlap at index: 2"),
		}},
		{name: "completed indexes on a NonIndexed Job", old: started, status: func(s *batchv1.JobStatus) {
			s.CompletedIndexes = "0"
		}, want: []vt.Want{vt.Invalid("status.completedIndexes", "cannot set non-empty completedIndexes when non-indexed completion mode")}},
		{name: "completion before start", old: func() *batchv1.Job {
			j := started.DeepCopy()
			j.Status.StartTime = &now
			return j
		}(), status: func(s *batchv1.JobStatus) {
			s.CompletionTime = &earlier
		}, want: []vt.Want{
			vt.Invalid("status.completionTime", "cannot set completionTime when there is no Complete=True condition"),
			vt.Invalid("status.completionTime", "must be equal to or after `startTime`"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			updated := tt.old.DeepCopy()
			tt.status(&updated.Status)
			vt.Expect(t, ValidateJobStatusUpdate(updated, tt.old), tt.want...)
		})
	}
}

func TestValidateCronJobUpdate(t *testing.T) {
	cronJob := func(schedule string, tz *string) *batchv1.CronJob {
		return defaulted(t, &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "a-cronjob-name-that-is-longer-than-fifty-two-characters", Namespace: "default", ResourceVersion: "1"},
			Spec: batchv1.CronJobSpec{Schedule: schedule, TimeZone: tz, JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
			}}},
		})
	}
	// Long names and a TZ the stored object already had are kept.
	old := cronJob("TZ=UTC 0 * * * *", nil)
	vt.Expect(t, ValidateCronJobUpdate(cronJob("TZ=UTC 5 * * * *", nil), old))
	vt.Expect(t, ValidateCronJobUpdate(cronJob("TZ=UTC 5 * * * *", ptr.To("UTC")), old),
		vt.Invalid("spec.schedule", "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	vt.Expect(t, ValidateCronJobUpdate(cronJob("0 * * * *", ptr.To("")), cronJob("0 * * * *", nil)),
		vt.Invalid("spec.timeZone", "timeZone must be nil or non-empty string"))
	vt.Expect(t, ValidateCronJobUpdate(cronJob("61 * * * *", nil), cronJob("0 * * * *", nil)),
		vt.Invalid("spec.schedule", "end of range (61) above maximum (59): 61"))
	vt.Expect(t, ValidateCronJobUpdate(cronJob("0 * * * *", nil), cronJob("0 * * * *", nil)))
	vt.Expect(t, ValidateCronJobStatusUpdate(old, old))
	if errs := ValidateCronJob(cronJob("TZ=0", nil)); len(errs) == 0 {
		t.Error("a schedule that makes the parser panic was accepted")
	}
}
