package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func replicationController() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To[int32](2),
			Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{
					Containers:    []corev1.Container{{Name: "app", Image: "nginx", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}},
					RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst,
					TerminationGracePeriodSeconds: ptr.To[int64](30),
				},
			},
		},
	}
}

func TestValidateReplicationController(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   []string
	}{
		{name: "valid"},
		{name: "no replicas", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Replicas = nil }, want: []string{"spec.replicas: Required value"}},
		{name: "no selector", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil }, want: []string{"spec.selector: Required value"}},
		{name: "no template", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template = nil }, want: []string{"spec.template: Required value"}},
		{
			name:   "template spec errors carry the template path",
			mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Image = "" },
			want:   []string{"spec.template.spec.containers[0].image: Required value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := replicationController()
			if tt.mutate != nil {
				tt.mutate(rc)
			}
			expectStrings(t, ValidateReplicationController(rc), tt.want...)
			expectStrings(t, ValidateReplicationControllerUpdate(rc, replicationController()), tt.want...)
		})
	}
}

func TestValidateReplicationControllerStatusUpdate(t *testing.T) {
	old := replicationController()
	rc := old.DeepCopy()
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 3, AvailableReplicas: 1, ObservedGeneration: -1}
	expectStrings(t, ValidateReplicationControllerStatusUpdate(rc, old),
		"status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
		"status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas",
	)
}

func TestValidatePodTemplateUpdate(t *testing.T) {
	old := &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default", ResourceVersion: "1"}, Template: *replicationController().Spec.Template}
	tmpl := old.DeepCopy()
	tmpl.Template.Spec.Containers[0].Image = "nginx:2"
	expectStrings(t, ValidatePodTemplateUpdate(tmpl, old))
	tmpl.Namespace = "other"
	tmpl.Template.Spec.RestartPolicy = "Sometimes"
	expectStrings(t, ValidatePodTemplateUpdate(tmpl, old),
		`metadata.namespace: Invalid value: "other": field is immutable`,
		`template.spec.restartPolicy: Unsupported value: "Sometimes"`)
}

func TestValidatePodTemplateSpecForWorkloads(t *testing.T) {
	tmpl := replicationController().Spec.Template
	tmpl.Spec.HostNetwork = true
	tmpl.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}}
	// In a template an unset host port is fine: the pod's defaults set it.
	expectStrings(t, ValidatePodTemplateSpec(tmpl, nil))
	tmpl.Spec.Containers[0].Ports[0].HostPort = 81
	expectStrings(t, ValidatePodTemplateSpec(tmpl, nil),
		"spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true")
}
