package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodGenerationRules checks upstream's pod generation rules: a pod is
// created at generation 1; a pods/ephemeralcontainers write bumps it only
// when it changes the spec; a pods/status write that leaves the status's or
// a condition's observedGeneration (or the QoS class) unset keeps the
// stored one.
func TestPodGenerationRules(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	pods := server.Client().CoreV1().Pods(ns)
	pod, err := pods.Create(ctx, newPod("gen"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Generation != 1 {
		t.Fatalf("generation at create = %d, want 1", pod.Generation)
	}

	// A write through pods/ephemeralcontainers that changes nothing.
	same, err := pods.UpdateEphemeralContainers(ctx, "gen", pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("no-op ephemeral containers write: %v", err)
	}
	if same.Generation != 1 {
		t.Errorf("generation after a no-op ephemeral containers write = %d, want 1", same.Generation)
	}
	same.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox:1.36", ImagePullPolicy: corev1.PullIfNotPresent,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}}}
	added, err := pods.UpdateEphemeralContainers(ctx, "gen", same, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("add ephemeral container: %v", err)
	}
	if added.Generation != 2 {
		t.Errorf("generation after adding an ephemeral container = %d, want 2", added.Generation)
	}

	observed := added.DeepCopy()
	observed.Status.ObservedGeneration = 2
	observed.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, ObservedGeneration: 2}}
	observed, err = pods.UpdateStatus(ctx, observed, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("status write with observedGeneration: %v", err)
	}
	cleared := observed.DeepCopy()
	cleared.Status.ObservedGeneration = 0
	cleared.Status.QOSClass = ""
	cleared.Status.Conditions[0].ObservedGeneration = 0
	cleared.Status.Conditions = append(cleared.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse})
	got, err := pods.UpdateStatus(ctx, cleared, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("status write without observedGeneration: %v", err)
	}
	if got.Status.ObservedGeneration != 2 || got.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Errorf("status.observedGeneration %d qosClass %q, want the stored 2 and Guaranteed", got.Status.ObservedGeneration, got.Status.QOSClass)
	}
	want := map[corev1.PodConditionType]int64{corev1.PodReady: 2, corev1.PodScheduled: 0}
	for _, c := range got.Status.Conditions {
		if c.ObservedGeneration != want[c.Type] {
			t.Errorf("condition %s observedGeneration = %d, want %d", c.Type, c.ObservedGeneration, want[c.Type])
		}
	}
	if got.Generation != 2 {
		t.Errorf("generation after status writes = %d, want 2", got.Generation)
	}
}
