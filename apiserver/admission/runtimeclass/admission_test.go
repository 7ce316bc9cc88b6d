package runtimeclass

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestAdmitAndValidate(t *testing.T) {
	overhead := corev1.ResourceList{"cpu": resource.MustParse("100m")}
	rc := &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{Name: "kata"}, Handler: "kata",
		Overhead: &nodev1.Overhead{PodFixed: overhead},
		Scheduling: &nodev1.Scheduling{
			NodeSelector: map[string]string{"runtime": "kata"},
			Tolerations:  []corev1.Toleration{{Key: "kata", Operator: corev1.TolerationOpExists}},
		},
	}
	plain := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "runc"}, Handler: "runc"}
	tests := []struct {
		name      string
		class     string
		selector  map[string]string
		overhead  corev1.ResourceList
		wantErr   string
		wantNodes map[string]string
	}{
		{name: "no class"},
		{name: "overhead and scheduling applied", class: "kata", wantNodes: map[string]string{"runtime": "kata"}},
		{name: "selector merged", class: "kata", selector: map[string]string{"zone": "a"}, wantNodes: map[string]string{"zone": "a", "runtime": "kata"}},
		{name: "selector conflict", class: "kata", selector: map[string]string{"runtime": "gvisor"}, wantErr: "conflict: runtimeClass.scheduling.nodeSelector[runtime] = kata; pod.spec.nodeSelector[runtime] = gvisor"},
		{name: "overhead mismatch", class: "kata", overhead: corev1.ResourceList{"cpu": resource.MustParse("1")}, wantErr: "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"},
		{name: "overhead without class overhead", class: "runc", overhead: overhead, wantErr: "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"},
		{name: "missing class", class: "nope", wantErr: `pod rejected: RuntimeClass "nope" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
			p := New()
			p.SetExternalKubeInformerFactory(f)
			p.SetExternalKubeClientSet(fake.NewSimpleClientset(plain)) // runc only live
			if err := f.Node().V1().RuntimeClasses().Informer().GetIndexer().Add(rc); err != nil {
				t.Fatal(err)
			}
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: tc.selector, Overhead: tc.overhead}}
			if tc.class != "" {
				pod.Spec.RuntimeClassName = ptr.To(tc.class)
			}
			a := admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
				corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
			err := p.Admit(context.Background(), a, nil)
			if err == nil {
				err = p.Validate(context.Background(), a, nil)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.class == "kata" {
				if !pod.Spec.Overhead.Cpu().Equal(resource.MustParse("100m")) {
					t.Errorf("overhead = %v", pod.Spec.Overhead)
				}
				if len(pod.Spec.Tolerations) != 1 || pod.Spec.Tolerations[0].Key != "kata" {
					t.Errorf("tolerations = %v", pod.Spec.Tolerations)
				}
			}
			if len(pod.Spec.NodeSelector) != len(tc.wantNodes) {
				t.Fatalf("nodeSelector = %v, want %v", pod.Spec.NodeSelector, tc.wantNodes)
			}
			for k, v := range tc.wantNodes {
				if pod.Spec.NodeSelector[k] != v {
					t.Errorf("nodeSelector = %v, want %v", pod.Spec.NodeSelector, tc.wantNodes)
				}
			}
		})
	}
}

func TestMergeTolerations(t *testing.T) {
	exists := corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists}
	equal := corev1.Toleration{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Toleration{Key: "o", Operator: corev1.TolerationOpExists}
	tests := []struct {
		name      string
		have, add []corev1.Toleration
		want      int
	}{
		{"disjoint", []corev1.Toleration{other}, []corev1.Toleration{equal}, 2},
		{"duplicate dropped", []corev1.Toleration{equal}, []corev1.Toleration{equal}, 1},
		{"covered addition dropped", []corev1.Toleration{exists}, []corev1.Toleration{equal}, 1},
		{"covered existing replaced", []corev1.Toleration{equal}, []corev1.Toleration{exists}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeTolerations(tc.have, tc.add); len(got) != tc.want {
				t.Errorf("merge = %v, want %d tolerations", got, tc.want)
			}
		})
	}
}
