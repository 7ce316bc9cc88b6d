package podworkers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

func exitedAs(name string, code int32) *runtime.ContainerStatus {
	return &runtime.ContainerStatus{Name: name, State: runtime.ContainerExited, ExitCode: code}
}

func TestPodFinished(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := func(policy corev1.RestartPolicy) *corev1.Pod {
		p := &corev1.Pod{}
		p.Spec.RestartPolicy = policy
		p.Spec.InitContainers = []corev1.Container{{Name: "init"}, {Name: "side", RestartPolicy: &always}}
		p.Spec.Containers = []corev1.Container{{Name: "a"}, {Name: "b"}}
		return p
	}
	running := &runtime.ContainerStatus{Name: "b", State: runtime.ContainerRunning}
	tests := []struct {
		name   string
		policy corev1.RestartPolicy
		latest []*runtime.ContainerStatus
		want   bool
	}{
		{"always never finishes", corev1.RestartPolicyAlways, []*runtime.ContainerStatus{exitedAs("a", 0), exitedAs("b", 0)}, false},
		{"never, all exited", corev1.RestartPolicyNever, []*runtime.ContainerStatus{exitedAs("a", 0), exitedAs("b", 2)}, true},
		{"never, one running", corev1.RestartPolicyNever, []*runtime.ContainerStatus{exitedAs("a", 0), running}, false},
		{"never, one not started", corev1.RestartPolicyNever, []*runtime.ContainerStatus{exitedAs("a", 0)}, false},
		{"onfailure, succeeded", corev1.RestartPolicyOnFailure, []*runtime.ContainerStatus{exitedAs("a", 0), exitedAs("b", 0)}, true},
		{"onfailure, one failed restarts", corev1.RestartPolicyOnFailure, []*runtime.ContainerStatus{exitedAs("a", 0), exitedAs("b", 1)}, false},
		{"never, init failed", corev1.RestartPolicyNever, []*runtime.ContainerStatus{exitedAs("init", 1)}, true},
		{"onfailure, init failed retries", corev1.RestartPolicyOnFailure, []*runtime.ContainerStatus{exitedAs("init", 1)}, false},
		{"never, sidecar failed does not finish", corev1.RestartPolicyNever, []*runtime.ContainerStatus{exitedAs("side", 1)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := podFinished(pod(tc.policy), latestByName(tc.latest)); got != tc.want {
				t.Errorf("podFinished = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLatestByName(t *testing.T) {
	t0 := time.Now()
	old := &runtime.ContainerStatus{ID: "old", Name: "a", CreatedAt: t0}
	cur := &runtime.ContainerStatus{ID: "new", Name: "a", CreatedAt: t0.Add(time.Second)}
	if got := latestByName([]*runtime.ContainerStatus{cur, old})["a"]; got.ID != "new" {
		t.Errorf("latest = %s, want new", got.ID)
	}
}

func TestBackoffKeyFollowsSpec(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace, pod.UID = "p", "ns", "u"
	c := corev1.Container{Name: "a", Image: "x:1"}
	k1 := backoffKey(pod, &c)
	if k1 != backoffKey(pod, &c) {
		t.Error("key is not stable")
	}
	c.Image = "x:2"
	if k1 == backoffKey(pod, &c) {
		t.Error("a changed spec keeps the back-off key")
	}
}

func TestPodGrace(t *testing.T) {
	five, ten := int64(5), int64(10)
	tests := []struct {
		name           string
		deletion, spec *int64
		want           time.Duration
	}{
		{"default", nil, nil, DefaultTerminationGracePeriod},
		{"spec", nil, &ten, 10 * time.Second},
		{"deletion wins", &five, &ten, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{}
			p.DeletionGracePeriodSeconds, p.Spec.TerminationGracePeriodSeconds = tc.deletion, tc.spec
			if got := podGrace(p); got != tc.want {
				t.Errorf("podGrace = %s, want %s", got, tc.want)
			}
		})
	}
}

type secretSource map[string]*corev1.Secret

func (s secretSource) GetConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
}

func (s secretSource) GetSecret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if sec, ok := s[name]; ok {
		return sec, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
}

func TestPullCredentials(t *testing.T) {
	objs := secretSource{
		"json": {Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
			`{"auths":{"https://reg.example:5000/v1/":{"username":"u1","password":"p1"},"other.example":{"auth":"dTI6cDI="}}}`)}},
	}
	pod := &corev1.Pod{}
	pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "missing"}, {Name: "json"}}
	creds := pullCredentials(context.Background(), objs, pod)
	tests := []struct{ host, user, pass string }{
		{"reg.example:5000", "u1", "p1"},
		{"other.example", "u2", "p2"},
		{"unknown.example", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			u, p, err := creds(tc.host)
			if err != nil || u != tc.user || p != tc.pass {
				t.Errorf("creds(%s) = %q %q %v, want %q %q", tc.host, u, p, err, tc.user, tc.pass)
			}
		})
	}
	if pullCredentials(context.Background(), objs, &corev1.Pod{}) != nil {
		t.Error("a pod without pull secrets has credentials")
	}
}
