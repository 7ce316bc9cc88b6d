package job

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func finishedAt(phase corev1.PodPhase, t time.Time) *corev1.Pod {
	return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t)}},
	}}}}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {1, 10 * time.Second}, {2, 20 * time.Second}, {4, 80 * time.Second}, {7, 10 * time.Minute}, {100, 10 * time.Minute}}
	for _, tt := range tests {
		if got := backoffDelay(tt.failures, DefaultPodFailureBackoff, DefaultMaxPodFailureBackoff); got != tt.want {
			t.Errorf("backoffDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestBackoffRecord(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		start     backoffRecord
		succeeded []*corev1.Pod
		failed    []*corev1.Pod
		now       time.Time
		wantCount int
		wantLeft  time.Duration
	}{
		{name: "first failure", failed: []*corev1.Pod{finishedAt(corev1.PodFailed, t0)}, now: t0.Add(4 * time.Second), wantCount: 1, wantLeft: 6 * time.Second},
		{name: "second failure doubles", start: backoffRecord{1, &t0}, failed: []*corev1.Pod{finishedAt(corev1.PodFailed, t0.Add(time.Second))}, now: t0.Add(time.Second), wantCount: 2, wantLeft: 20 * time.Second},
		{name: "success resets", start: backoffRecord{3, &t0}, succeeded: []*corev1.Pod{finishedAt(corev1.PodSucceeded, t0.Add(time.Second))}, now: t0.Add(time.Second), wantCount: 0, wantLeft: 0},
		{name: "failure after the success counts", start: backoffRecord{3, &t0}, succeeded: []*corev1.Pod{finishedAt(corev1.PodSucceeded, t0.Add(time.Second))}, failed: []*corev1.Pod{finishedAt(corev1.PodFailed, t0), finishedAt(corev1.PodFailed, t0.Add(2*time.Second))}, now: t0.Add(2 * time.Second), wantCount: 1, wantLeft: 10 * time.Second},
		{name: "backoff over", start: backoffRecord{1, &t0}, now: t0.Add(time.Minute), wantCount: 1, wantLeft: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.start.next(tt.succeeded, tt.failed, tt.now)
			if r.failuresAfterLastSuccess != tt.wantCount {
				t.Errorf("failures = %d, want %d", r.failuresAfterLastSuccess, tt.wantCount)
			}
			if left := r.remaining(clocktesting.NewFakePassiveClock(tt.now), DefaultPodFailureBackoff, DefaultMaxPodFailureBackoff); left != tt.wantLeft {
				t.Errorf("remaining = %v, want %v", left, tt.wantLeft)
			}
		})
	}
}
