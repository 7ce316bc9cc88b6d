package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestNewPod(t *testing.T) {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "ns", UID: "uid"},
		Spec: batchv1.JobSpec{
			CompletionMode:       ptr.To(batchv1.IndexedCompletion),
			Completions:          ptr.To[int32](5),
			BackoffLimitPerIndex: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "pi"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init"}},
					Containers:     []corev1.Container{{Name: "main", Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", Value: "mine"}}}, {Name: "side"}},
				},
			},
		},
	}
	tests := []struct {
		name              string
		index             int
		failures, ignored int
		wantGenerate      string
		wantHost          string
		wantAnnotations   map[string]string
	}{
		{name: "non-indexed", index: unknownIndex, wantGenerate: "pi-"},
		{name: "index 3 after failures", index: 3, failures: 1, ignored: 2, wantGenerate: "pi-3-", wantHost: "pi-3", wantAnnotations: map[string]string{
			batchv1.JobCompletionIndexAnnotation: "3", batchv1.JobIndexFailureCountAnnotation: "1", batchv1.JobIndexIgnoredFailureCountAnnotation: "2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod(job, tt.index, tt.failures, tt.ignored)
			if p.GenerateName != tt.wantGenerate || p.Spec.Hostname != tt.wantHost {
				t.Errorf("generateName %q hostname %q", p.GenerateName, p.Spec.Hostname)
			}
			if !hasTrackingFinalizer(p) {
				t.Error("no tracking finalizer")
			}
			if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != "uid" || ref.Kind != "Job" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
				t.Errorf("controller ref %+v", ref)
			}
			for k, v := range tt.wantAnnotations {
				if p.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, p.Annotations[k], v)
				}
			}
			if tt.index == unknownIndex {
				if len(p.Spec.Containers[1].Env) != 0 {
					t.Errorf("non-indexed pod got env %v", p.Spec.Containers[1].Env)
				}
				return
			}
			if p.Labels[batchv1.JobCompletionIndexAnnotation] != "3" || p.Labels["app"] != "pi" {
				t.Errorf("labels %v", p.Labels)
			}
			if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Value != "mine" {
				t.Errorf("a container's own JOB_COMPLETION_INDEX was replaced: %v", env)
			}
			for _, c := range append(p.Spec.InitContainers, p.Spec.Containers[1]) {
				if len(c.Env) != 1 || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
					t.Errorf("container %s env %v", c.Name, c.Env)
				}
			}
			if job.Spec.Template.Labels[batchv1.JobCompletionIndexAnnotation] != "" {
				t.Error("template mutated")
			}
		})
	}
}

func TestPodsForRemoval(t *testing.T) {
	now := time.Now()
	pod := func(name string, index string, node string, phase corev1.PodPhase, ready bool, age time.Duration) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		if index != "" {
			p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: index}
		}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		return p
	}
	nonIndexed := &batchv1.Job{}
	indexed := &batchv1.Job{Spec: batchv1.JobSpec{CompletionMode: ptr.To(batchv1.IndexedCompletion), Completions: ptr.To[int32](3)}}
	tests := []struct {
		name    string
		job     *batchv1.Job
		pods    []*corev1.Pod
		atLeast int
		want    []string
	}{
		{
			name: "earlier stages first", job: nonIndexed, atLeast: 2,
			pods: []*corev1.Pod{
				pod("running-ready", "", "n", corev1.PodRunning, true, time.Hour),
				pod("running", "", "n", corev1.PodRunning, false, time.Hour),
				pod("unscheduled", "", "", corev1.PodPending, false, time.Hour),
			},
			want: []string{"unscheduled", "running"},
		},
		{
			name: "newer first among equals", job: nonIndexed, atLeast: 1,
			pods: []*corev1.Pod{pod("old", "", "n", corev1.PodRunning, true, time.Hour), pod("new", "", "n", corev1.PodRunning, true, time.Minute)},
			want: []string{"new"},
		},
		{
			name: "indexed: duplicates and invalid indexes go", job: indexed, atLeast: 0,
			pods: []*corev1.Pod{
				pod("a0", "0", "n", corev1.PodRunning, true, time.Hour),
				pod("b0", "0", "", corev1.PodPending, false, time.Minute),
				pod("none", "", "n", corev1.PodRunning, true, time.Hour),
				pod("big", "7", "n", corev1.PodRunning, true, time.Hour),
				pod("c1", "1", "n", corev1.PodRunning, true, time.Hour),
			},
			want: []string{"none", "big", "b0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range podsForRemoval(tt.job, tt.pods, tt.atLeast) {
				got = append(got, p.Name)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("removed %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("removed %v, want %v", got, tt.want)
				}
			}
		})
	}
}
