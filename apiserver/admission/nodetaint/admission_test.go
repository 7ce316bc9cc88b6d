package nodetaint

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
)

func TestAdmit(t *testing.T) {
	notReady := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		have []corev1.Taint
		want int
	}{
		{"untainted node", nil, 1},
		{"other taints kept", []corev1.Taint{other}, 2},
		{"already tainted", []corev1.Taint{notReady}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Taints: tc.have}}
			a := admission.NewAttributesRecord(node, nil, corev1.SchemeGroupVersion.WithKind("Node"), "", "n",
				corev1.SchemeGroupVersion.WithResource("nodes"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
			if err := New().Admit(context.Background(), a, nil); err != nil {
				t.Fatal(err)
			}
			if len(node.Spec.Taints) != tc.want {
				t.Fatalf("taints = %v, want %d", node.Spec.Taints, tc.want)
			}
			found := false
			for _, taint := range node.Spec.Taints {
				found = found || taint.MatchTaint(&notReady)
			}
			if !found {
				t.Errorf("taints = %v lack not-ready:NoSchedule", node.Spec.Taints)
			}
		})
	}
}
