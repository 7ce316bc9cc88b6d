package job

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	// unknownIndex marks a pod without a valid completion index.
	unknownIndex = -1
	// completionIndexEnv is the variable Indexed Jobs' containers get.
	completionIndexEnv = "JOB_COMPLETION_INDEX"
	// maxGeneratedNameLength is the longest generateName prefix the API
	// server keeps whole (63 less its 5 random characters).
	maxGeneratedNameLength = 58
)

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isActive: not finished and not being deleted.
func isActive(p *corev1.Pod) bool {
	return !isTerminal(p) && p.DeletionTimestamp == nil
}

// isTerminating: being deleted but not yet finished.
func isTerminating(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil && !isTerminal(p)
}

func isPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func isIndexed(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
}

func hasBackoffLimitPerIndex(job *batchv1.Job) bool {
	return job.Spec.BackoffLimitPerIndex != nil
}

// onlyReplaceFailedPods: a deleted pod is replaced only once it has failed
// (podReplacementPolicy Failed, which a podFailurePolicy implies).
func onlyReplaceFailedPods(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed || job.Spec.PodFailurePolicy != nil
}

// isPodFailed: a Failed pod, or, unless only failed pods are replaced, a
// deleted one that did not succeed (orphans that never reach Failed).
func isPodFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailedPods(job) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func isSuspended(job *batchv1.Job) bool { return ptr.Deref(job.Spec.Suspend, false) }

// completionIndex reads the pod's completion index annotation (or, for
// pods without it, the label).
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		if v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]; !ok {
			return unknownIndex
		}
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return unknownIndex
	}
	return i
}

// validIndex: a completion index inside the Job's completions.
func validIndex(job *batchv1.Job, p *corev1.Pod) (int, bool) {
	ix := completionIndex(p)
	return ix, ix != unknownIndex && ix < int(ptr.Deref(job.Spec.Completions, 0))
}

func annotationCount(p *corev1.Pod, key string) int {
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(p.Annotations[key])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func indexFailureCount(p *corev1.Pod) int {
	return annotationCount(p, batchv1.JobIndexFailureCountAnnotation)
}

func indexIgnoredFailureCount(p *corev1.Pod) int {
	return annotationCount(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

// generateNameFor is the pod name prefix: "<job>-" or, for an index,
// "<job>-<index>-", the Job name shortened to keep the index whole.
func generateNameFor(jobName string, index int) string {
	if index == unknownIndex {
		return jobName + "-"
	}
	suffix := fmt.Sprintf("-%d-", index)
	if len(jobName)+len(suffix) > maxGeneratedNameLength {
		jobName = jobName[:maxGeneratedNameLength-len(suffix)]
	}
	return jobName + suffix
}

// newPod builds a pod of the Job from its template: the tracking
// finalizer, a controller reference and, for an index, the index
// annotation, label, environment variable and hostname.
func newPod(job *batchv1.Job, index int, failures, ignored int) *corev1.Pod {
	t := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    generateNameFor(job.Name, index),
			Namespace:       job.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: t.Spec,
	}
	if !slices.Contains(pod.Finalizers, batchv1.JobTrackingFinalizer) {
		pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
	}
	if index == unknownIndex {
		return pod
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	ix := strconv.Itoa(index)
	pod.Annotations[batchv1.JobCompletionIndexAnnotation] = ix
	pod.Labels[batchv1.JobCompletionIndexAnnotation] = ix
	if hasBackoffLimitPerIndex(job) {
		pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(failures)
		if ignored > 0 {
			pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(ignored)
		}
	}
	pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
	addIndexEnv(pod.Spec.InitContainers)
	addIndexEnv(pod.Spec.Containers)
	return pod
}

func addIndexEnv(containers []corev1.Container) {
	for i := range containers {
		c := &containers[i]
		if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == completionIndexEnv }) {
			continue
		}
		c.Env = append(c.Env, corev1.EnvVar{
			Name: completionIndexEnv,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation),
			}},
		})
	}
}

// sortForRemoval orders active pods so that those in earlier stages come
// first: unscheduled before scheduled, pending before running, not ready
// before ready, more restarts first, newer first.
func sortForRemoval(pods []*corev1.Pod) {
	phaseRank := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	restarts := func(p *corev1.Pod) int32 {
		var n int32
		for _, cs := range p.Status.ContainerStatuses {
			n += cs.RestartCount
		}
		return n
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			return a.Spec.NodeName == ""
		}
		if ra, rb := phaseRank[a.Status.Phase], phaseRank[b.Status.Phase]; ra != rb {
			return ra < rb
		}
		if isPodReady(a) != isPodReady(b) {
			return !isPodReady(a)
		}
		if ra, rb := restarts(a), restarts(b); ra != rb {
			return ra > rb
		}
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	})
}

// podsForRemoval picks at least rmAtLeast active pods to delete; for an
// Indexed Job also every pod with an invalid or duplicated index.
func podsForRemoval(job *batchv1.Job, active []*corev1.Pod, rmAtLeast int) []*corev1.Pod {
	var rm, left []*corev1.Pod
	if isIndexed(job) {
		byIndex := map[int][]*corev1.Pod{}
		for _, p := range active {
			ix, ok := validIndex(job, p)
			if !ok {
				rm = append(rm, p)
				continue
			}
			byIndex[ix] = append(byIndex[ix], p)
		}
		for _, ps := range byIndex {
			if len(ps) > 1 {
				sortForRemoval(ps)
				rm = append(rm, ps[:len(ps)-1]...)
				ps = ps[len(ps)-1:]
			}
			left = append(left, ps...)
		}
	} else {
		left = slices.Clone(active)
	}
	if n := rmAtLeast - len(rm); n > 0 {
		sortForRemoval(left)
		rm = append(rm, left[:min(n, len(left))]...)
	}
	return rm
}
