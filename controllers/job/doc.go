// Package job is Skiff's Job controller (kube-controller-manager's "job"):
// it runs a Job's pods to completion as upstream does — parallelism and
// completions, NonIndexed and Indexed completion modes (completion index
// annotation, label, JOB_COMPLETION_INDEX and hostname), backoffLimit with
// exponential pod-failure backoff, backoffLimitPerIndex and
// maxFailedIndexes, activeDeadlineSeconds, podFailurePolicy, successPolicy,
// suspend and resume, podReplacementPolicy — and tracks finished pods with
// the batch.kubernetes.io/job-tracking finalizer and
// status.uncountedTerminatedPods so that no pod is counted twice. Jobs
// whose spec.managedBy names another controller are left alone.
package job
