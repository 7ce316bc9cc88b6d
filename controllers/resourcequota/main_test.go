package resourcequota_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/disruption"
	"github.com/skiff-dev/skiff/controllers/podautoscaler"
	"github.com/skiff-dev/skiff/controllers/resourcequota"
)

// One API server for the resource quota, disruption and HPA controllers'
// tests (see doc.go).
var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{
		resourcequota.Descriptor, disruption.Descriptor, podautoscaler.Descriptor,
	}})
}

// pod is a minimal pod; requests and limits are "cpu=100m"-style pairs.
func pod(name string, labels map[string]string, requests, limits corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits},
		}}},
	}
}

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// setPodPhase writes a pod's phase (and Ready condition) as a kubelet would.
func setPodPhase(t *testing.T, ctx context.Context, ns, name string, phase corev1.PodPhase, ready bool) {
	t.Helper()
	p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	now := metav1.Now()
	p.Status.Phase = phase
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: now}}
	if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status of pod %s: %v", name, err)
	}
}

// deployment creates a Deployment (no deployment controller runs: only its
// /scale matters).
func deployment(t *testing.T, ctx context.Context, ns, name string, replicas int32, labels map[string]string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	created, err := env.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	return created
}

// namespace is env.Namespace with its "default" service account, which
// pod admission needs (no service account controller runs here).
func namespace(t *testing.T) string {
	t.Helper()
	ns := env.Namespace(t)
	return ns
}

func quantityString(l corev1.ResourceList, name corev1.ResourceName) string {
	q, ok := l[name]
	if !ok {
		return "<none>"
	}
	return q.String()
}

func fmtUsed(l corev1.ResourceList) string { return fmt.Sprint(l) }

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }
func strPtr(s string) *string          { return &s }
func ptrInt64(v int64) *int64          { return &v }

// check is a poll result: ok, or not yet with what was seen.
func check(ok bool, format string, args ...any) (bool, error) {
	if ok {
		return true, nil
	}
	return false, fmt.Errorf(format, args...)
}
