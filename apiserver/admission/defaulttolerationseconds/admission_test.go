package defaulttolerationseconds

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/utils/ptr"
)

func podAttrs(pod *corev1.Pod, sub string) admission.Attributes {
	return admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", pod.Name,
		corev1.SchemeGroupVersion.WithResource("pods"), sub, admission.Create, &metav1.CreateOptions{}, false, nil)
}

func TestAdmit(t *testing.T) {
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	custom := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}
	everything := corev1.Toleration{Operator: corev1.TolerationOpExists}
	noSchedule := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		have []corev1.Toleration
		sub  string
		want []corev1.Toleration
	}{
		{"none", nil, "", []corev1.Toleration{notReady, unreachable}},
		{"own not-ready kept", []corev1.Toleration{custom}, "", []corev1.Toleration{custom, unreachable}},
		{"tolerate everything", []corev1.Toleration{everything}, "", []corev1.Toleration{everything}},
		{"NoSchedule does not cover NoExecute", []corev1.Toleration{noSchedule}, "", []corev1.Toleration{noSchedule, notReady, unreachable}},
		{"subresource ignored", nil, "status", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Tolerations: tc.have}}
			if err := New(300, 300).Admit(context.Background(), podAttrs(pod, tc.sub), nil); err != nil {
				t.Fatal(err)
			}
			if len(pod.Spec.Tolerations) != len(tc.want) {
				t.Fatalf("tolerations = %v, want %v", pod.Spec.Tolerations, tc.want)
			}
			for i := range tc.want {
				g, w := pod.Spec.Tolerations[i], tc.want[i]
				if g.Key != w.Key || g.Effect != w.Effect || ptr.Deref(g.TolerationSeconds, -1) != ptr.Deref(w.TolerationSeconds, -1) {
					t.Errorf("toleration %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}
