package defaults

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// addBatchDefaults registers upstream's defaults for batch/v1 Jobs and
// CronJobs and their lists.
func addBatchDefaults(s *runtime.Scheme) {
	addKindAndListDefaults(s, defaultJob, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
	addKindAndListDefaults(s, defaultCronJob, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items })
}

// defaultJob sets completions and parallelism 1 when both are unset (else
// parallelism 1 when unset); backoffLimit 6, or MaxInt32 with a per-index
// limit; the Job's labels from its template's when it has none;
// completionMode NonIndexed; suspend false; podReplacementPolicy Failed
// with a pod failure policy, else TerminatingOrFailed; manualSelector
// false; and the defaults of its pod failure policy and template. The
// generated selector and template labels are not defaults: the registry
// adds them on create (see validation/batch.GenerateJobSelector).
func defaultJob(job *batchv1.Job) {
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptr.To[int32](1)
		spec.Parallelism = ptr.To[int32](1)
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptr.To[int32](1)
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptr.To[int32](math.MaxInt32)
		} else {
			spec.BackoffLimit = ptr.To[int32](6)
		}
	}
	if labels := spec.Template.Labels; labels != nil && len(job.Labels) == 0 {
		job.Labels = labels
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptr.To(false)
	}
	defaultJobSpecNested(spec)
}

// defaultJobSpecNested applies the defaults inside a job spec that hold
// for Jobs and for CronJob job templates alike: a pod failure policy
// pattern's status True, and the pod template's defaults.
func defaultJobSpecNested(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for i := range spec.PodFailurePolicy.Rules {
			patterns := spec.PodFailurePolicy.Rules[i].OnPodConditions
			for j := range patterns {
				if patterns[j].Status == "" {
					patterns[j].Status = corev1.ConditionTrue
				}
			}
		}
	}
	PodTemplateSpec(&spec.Template)
}

// defaultCronJob sets concurrencyPolicy Allow, suspend false, history
// limits of 3 successful and 1 failed job, and the nested defaults of its
// job template. Upstream does not apply the Job defaults (completions,
// backoffLimit, ...) to the template: the Jobs get them when created.
func defaultCronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptr.To[int32](3)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	}
	defaultJobSpecNested(&spec.JobTemplate.Spec)
}
