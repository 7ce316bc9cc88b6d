package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// defaultedSpec is the spec upstream gives a template with one bare
// container named app running image.
func defaultedSpec(image string, pull corev1.PullPolicy) corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "app", Image: image, ImagePullPolicy: pull,
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}},
		RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst,
		SecurityContext: &corev1.PodSecurityContext{}, TerminationGracePeriodSeconds: ptr.To[int64](30),
		SchedulerName: corev1.DefaultSchedulerName,
	}
}

func TestPodTemplateDefaults(t *testing.T) {
	s := schemeWithDefaults(t)
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "template: spec defaults only, pull policy IfNotPresent for a tag",
			obj:  &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}},
			want: &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: defaultedSpec("nginx:1.27", corev1.PullIfNotPresent)}},
		},
		{
			name: "replication controller: replicas, selector and labels from the template",
			obj: &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
			}}},
			want: &corev1.ReplicationController{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](1), Selector: map[string]string{"app": "web"}, Template: &corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec:       defaultedSpec("nginx", corev1.PullAlways),
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Default(tt.obj)
			if d := cmp.Diff(tt.want, tt.obj); d != "" {
				t.Errorf("defaults differ (-want +got):\n%s", d)
			}
		})
	}
}

func TestPullPolicyFor(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx": corev1.PullAlways, "nginx:latest": corev1.PullAlways, "registry:5000/team/app:latest": corev1.PullAlways,
		"nginx:1.2": corev1.PullIfNotPresent, "registry:5000/app": corev1.PullAlways,
		"nginx@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": corev1.PullIfNotPresent,
		"NotValid": corev1.PullIfNotPresent, "": corev1.PullIfNotPresent,
	} {
		if got := pullPolicyFor(image); got != want {
			t.Errorf("pullPolicyFor(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestPodDefaults(t *testing.T) {
	s := schemeWithDefaults(t)
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		DeprecatedServiceAccount:      "builder",
		HostNetwork:                   true,
		TerminationGracePeriodSeconds: ptr.To[int64](-5),
		Containers: []corev1.Container{{
			Name: "app", Image: "app:v1",
			Ports:     []corev1.ContainerPort{{ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500u")}},
			Env:       []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)},
			}},
		}},
		Volumes: []corev1.Volume{
			{Name: "scratch"},
			{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var"}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
		},
	}}
	s.Default(pod)
	spec := pod.Spec
	c := spec.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"serviceAccountName from the alias", spec.ServiceAccountName, "builder"},
		{"negative grace period becomes 1", *spec.TerminationGracePeriodSeconds, int64(1)},
		{"enableServiceLinks", *spec.EnableServiceLinks, true},
		{"host port from container port", c.Ports[0].HostPort, int32(8080)},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"cpu limit rounded up to milli", c.Resources.Limits.Cpu().String(), "2m"},
		{"cpu request from limit", c.Resources.Requests.Cpu().String(), "2m"},
		{"fieldRef apiVersion", c.Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"probe period", c.LivenessProbe.PeriodSeconds, int32(10)},
		{"probe timeout", c.LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe failure threshold", c.LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet path", c.LivenessProbe.HTTPGet.Path, "/"},
		{"httpGet scheme", c.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"volume without source is an emptyDir", spec.Volumes[0].EmptyDir != nil, true},
		{"configMap default mode", *spec.Volumes[1].ConfigMap.DefaultMode, int32(0644)},
		{"hostPath type", *spec.Volumes[2].HostPath.Type, corev1.HostPathUnset},
		{"projected default mode", *spec.Volumes[3].Projected.DefaultMode, int32(0644)},
		{"token expiry", *spec.Volumes[3].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds, int64(3600)},
	}
	for _, ch := range checks {
		if !cmp.Equal(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

func TestPodLevelResourceDefaults(t *testing.T) {
	s := schemeWithDefaults(t)
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi"),
		}},
		Containers: []corev1.Container{
			{Name: "a", Image: "a", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}},
			{Name: "b", Image: "b", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}},
		},
	}}
	s.Default(pod)
	req := pod.Spec.Resources.Requests
	if got := req.Cpu().String(); got != "750m" {
		t.Errorf("pod cpu request = %s, want the containers' sum 750m", got)
	}
	if got := req.Memory().String(); got != "1Gi" {
		t.Errorf("pod memory request = %s, want the pod limit 1Gi", got)
	}
}
