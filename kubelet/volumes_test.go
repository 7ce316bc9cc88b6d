package kubelet

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/skiff-dev/skiff/kubelet/status"
)

const saMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// catInPod reads a file inside the pod's first running container.
func catInPod(t *testing.T, pod *corev1.Pod, path string) (string, error) {
	t.Helper()
	p, err := admin.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if len(p.Status.ContainerStatuses) == 0 {
		t.Fatalf("pod %s has no container statuses", pod.Name)
	}
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, status.ContainerIDPrefix)
	out, errOut, code, err := current.k.Runtime().ExecSync(context.Background(), id, []string{"cat", path}, 10*time.Second)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", fmt.Errorf("cat %s exited %d: %s", path, code, errOut)
	}
	return string(out), nil
}

// ensureRootCA publishes kube-root-ca.crt in the test namespace, as the
// root CA publisher would (the test server runs no controllers).
func ensureRootCA(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ca, err := os.ReadFile(ts.Config.CAFile)
	if err != nil || len(ca) == 0 {
		ca = ts.Config.CAData
	}
	if len(ca) == 0 {
		ca = []byte("test-ca\n")
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: testNS}, Data: map[string]string{"ca.crt": string(ca)}}
	if _, err := admin.CoreV1().ConfigMaps(testNS).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create kube-root-ca.crt: %v", err)
	}
	got, err := admin.CoreV1().ConfigMaps(testNS).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got.Data["ca.crt"]
}

// logWarnings logs the pod's warning events when the test failed.
func logWarnings(t *testing.T, pod *corev1.Pod) {
	if !t.Failed() {
		return
	}
	evs, err := admin.CoreV1().Events(pod.Namespace).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)).String()})
	if err != nil {
		t.Logf("list events: %v", err)
		return
	}
	for _, e := range evs.Items {
		if e.Type == corev1.EventTypeWarning {
			t.Logf("event %s: %s", e.Reason, e.Message)
		}
	}
}

func TestServiceAccountTokenVolume(t *testing.T) {
	requireNode(t)
	caData := ensureRootCA(t)
	pod := newPod("satoken", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait")
	pod.Spec.AutomountServiceAccountToken = nil
	pod = createPod(t, pod)
	t.Cleanup(func() { logWarnings(t, pod) })
	var projected *corev1.Volume
	for i := range pod.Spec.Volumes {
		if strings.HasPrefix(pod.Spec.Volumes[i].Name, "kube-api-access-") && pod.Spec.Volumes[i].Projected != nil {
			projected = &pod.Spec.Volumes[i]
		}
	}
	if projected == nil {
		t.Fatalf("admission gave the pod no kube-api-access volume: %+v", pod.Spec.Volumes)
	}
	waitPod(t, pod, 60*time.Second, "Running and Ready", running)

	files := map[string]string{}
	for _, name := range []string{"token", "ca.crt", "namespace"} {
		got, err := catInPod(t, pod, saMountPath+"/"+name)
		if err != nil {
			t.Fatalf("read %s in the container: %v", name, err)
		}
		files[name] = got
	}
	if files["namespace"] != testNS {
		t.Errorf("namespace = %q, want %q", files["namespace"], testNS)
	}
	if files["ca.crt"] != caData {
		t.Errorf("ca.crt = %q, want the kube-root-ca.crt content", files["ca.crt"])
	}
	review, err := admin.AuthenticationV1().TokenReviews().Create(context.Background(), &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: files["token"]}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token review: %v", err)
	}
	if want := "system:serviceaccount:" + testNS + ":default"; !review.Status.Authenticated || review.Status.User.Username != want {
		t.Errorf("token review = %+v, want authenticated as %s", review.Status, want)
	}
	// The API server binds tokens to pods once it looks pods up; until then
	// the kubelet falls back on an unbound token (see APIObjects.CreateToken).
	if got, ok := review.Status.User.Extra["authentication.kubernetes.io/pod-uid"]; ok && (len(got) != 1 || got[0] != string(pod.UID)) {
		t.Errorf("token bound to another pod: extra %v, pod %s", review.Status.User.Extra, pod.UID)
	} else if !ok {
		t.Logf("token is not bound to the pod (the API server cannot bind tokens to pods): extra %v", review.Status.User.Extra)
	}
}

func TestConfigMapVolumeUpdateReachesContainer(t *testing.T) {
	requireNode(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live-cfg", Namespace: testNS}, Data: map[string]string{"key": "v1"}}
	if _, err := admin.CoreV1().ConfigMaps(testNS).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.CoreV1().ConfigMaps(testNS).Delete(ctx, cm.Name, metav1.DeleteOptions{}) })
	pod := newPod("cmupdate", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait")
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}
	pod = createPod(t, pod)
	t.Cleanup(func() { logWarnings(t, pod) })
	p := waitPod(t, pod, 60*time.Second, "Running and Ready", running)
	startedID := p.Status.ContainerStatuses[0].ContainerID
	if got, err := catInPod(t, pod, "/cfg/key"); err != nil || got != "v1" {
		t.Fatalf("/cfg/key = %q, %v; want v1", got, err)
	}

	cm.Data = map[string]string{"key": "v2", "added": "new"}
	if _, err := admin.CoreV1().ConfigMaps(testNS).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second) // a 10s volume refresh, with room
	var got, added string
	var err error
	for time.Now().Before(deadline) {
		got, err = catInPod(t, pod, "/cfg/key")
		added, _ = catInPod(t, pod, "/cfg/added")
		if err == nil && got == "v2" && added == "new" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got != "v2" || added != "new" {
		t.Fatalf("after the update /cfg/key = %q (%v), /cfg/added = %q; want v2 and new", got, err, added)
	}
	p, err = admin.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs := p.Status.ContainerStatuses[0]; cs.ContainerID != startedID || cs.RestartCount != 0 {
		t.Errorf("container restarted for the update: %s -> %s, restarts %d", startedID, cs.ContainerID, cs.RestartCount)
	}

	// A failing refresh is an event; the files and the container stay.
	if err := admin.CoreV1().ConfigMaps(testNS).Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, pod, "FailedMount", `configmap "live-cfg" not found`)
	if got, err := catInPod(t, pod, "/cfg/key"); err != nil || got != "v2" {
		t.Errorf("after a failed refresh /cfg/key = %q, %v; want v2 kept", got, err)
	}
	p = waitPod(t, pod, 5*time.Second, "still running", running)
	if cs := p.Status.ContainerStatuses[0]; cs.ContainerID != startedID || cs.RestartCount != 0 {
		t.Errorf("container restarted after a failed refresh: %s -> %s, restarts %d", startedID, cs.ContainerID, cs.RestartCount)
	}
}
