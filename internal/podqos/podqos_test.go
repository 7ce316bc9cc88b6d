package podqos

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestCompute(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	pod := func(req, lim corev1.ResourceList) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}}}}
	}
	for _, tt := range []struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		{pod(nil, nil), corev1.PodQOSBestEffort},
		{pod(rl("1", ""), nil), corev1.PodQOSBurstable},
		{pod(rl("1", "1Gi"), rl("1", "1Gi")), corev1.PodQOSGuaranteed},
		{pod(rl("1", "1Gi"), rl("2", "1Gi")), corev1.PodQOSBurstable},
		{pod(nil, rl("1", "")), corev1.PodQOSBurstable},
		{&corev1.Pod{Spec: corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Requests: rl("1", "1Gi"), Limits: rl("1", "1Gi")},
			Containers: []corev1.Container{{}},
		}}, corev1.PodQOSGuaranteed},
	} {
		if got := Compute(tt.pod); got != tt.want {
			t.Errorf("Compute(%v) = %s, want %s", tt.pod.Spec.Containers[0].Resources, got, tt.want)
		}
	}
}
