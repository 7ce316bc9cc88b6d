package resourcequota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPodUsageChanged(t *testing.T) {
	base := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
	}}}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	now := metav1.Now()
	cases := []struct {
		name string
		mod  func(p *corev1.Pod)
		want bool
	}{
		{"labels only", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, false},
		{"finished", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }, true},
		{"terminating", func(p *corev1.Pod) { p.DeletionTimestamp = &now }, true},
		{"resized", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("200m")
		}, true},
		{"deadline set", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) }, true},
	}
	for _, c := range cases {
		n := base.DeepCopy()
		c.mod(n)
		if got := podUsageChanged(base, n); got != c.want {
			t.Errorf("%s: podUsageChanged = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestServiceAndClaimUsageChanged(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
	np := svc.DeepCopy()
	np.Spec.Type = corev1.ServiceTypeNodePort
	relabeled := svc.DeepCopy()
	relabeled.Labels = map[string]string{"x": "y"}
	if !serviceUsageChanged(svc, np) || serviceUsageChanged(svc, relabeled) {
		t.Fatal("service: type change must count, labels must not")
	}
	pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	grown := pvc.DeepCopy()
	grown.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	bound := pvc.DeepCopy()
	bound.Spec.VolumeName = "pv"
	if !pvcUsageChanged(pvc, grown) || pvcUsageChanged(pvc, bound) {
		t.Fatal("claim: expansion must count, binding must not")
	}
}
