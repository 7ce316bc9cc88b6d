package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/kubelet/images"
	"github.com/skiff-dev/skiff/kubelet/status"
)

// authRegistry is an in-process registry behind HTTP basic auth that
// counts the manifest requests per repository:reference it serves.
type authRegistry struct {
	srv        *httptest.Server
	user, pass string

	mu        sync.Mutex
	manifests map[string]int
	denied    int
}

func startAuthRegistry(t *testing.T, user, pass string) *authRegistry {
	t.Helper()
	r := &authRegistry{user: user, pass: pass, manifests: map[string]int{}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	// Plain HTTP on 127.0.0.1: the kubelet reaches it as containerd's CRI
	// plugin would, HTTPS first and then HTTP.
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
			r.mu.Lock()
			r.denied++
			r.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Basic realm="skiff-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if repo, ref, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/manifests/"); ok {
			r.mu.Lock()
			r.manifests[repo+":"+ref]++
			r.mu.Unlock()
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *authRegistry) host() string { return r.srv.Listener.Addr().String() }

func (r *authRegistry) manifestRequests(repoRef string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manifests[repoRef]
}

// push writes the project's busybox image as repo:tag.
func (r *authRegistry) push(t *testing.T, repoTag string) {
	t.Helper()
	img, err := images.Busybox(images.BusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(r.host()+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass})); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
}

// pullSecret creates a kubernetes.io/dockerconfigjson Secret for host.
func pullSecret(t *testing.T, secretName, host, user, pass string) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{
		"username": user, "password": pass, "auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)),
	}}})
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: testNS},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	if _, err := admin.CoreV1().Secrets(testNS).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Secrets(testNS).Delete(context.Background(), secretName, metav1.DeleteOptions{})
	})
}

func waitingReason(reason string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == reason
	}
}

// TestRegistryPullWithSecret pulls through the kubelet from a registry on
// 127.0.0.1 that wants basic auth, with a kubernetes.io/dockerconfigjson
// pull secret, and checks imagePullPolicy and the failure reasons and
// events against upstream's.
func TestRegistryPullWithSecret(t *testing.T) {
	requireNode(t)
	ctx := context.Background()
	reg := startAuthRegistry(t, "skiff", "pull-s3cret")
	reg.push(t, "skiff/busybox:v1")
	reg.push(t, "skiff/busybox:v2")
	v1, v2, v3 := reg.host()+"/skiff/busybox:v1", reg.host()+"/skiff/busybox:v2", reg.host()+"/skiff/busybox:v3"
	for _, ref := range []string{v1, v2, v3} {
		_ = current.k.Runtime().RemoveImage(ctx, ref)
		t.Cleanup(func() { _ = current.k.Runtime().RemoveImage(ctx, ref) })
	}
	pullSecret(t, "regcred", reg.host(), "skiff", "pull-s3cret")
	pullSecret(t, "regcred-wrong", reg.host(), "skiff", "not-the-password")

	// The kubelet publishes ErrImagePull and, a sync later,
	// ImagePullBackOff: a watch sees both, however short the first.
	runID := fmt.Sprint(podSeq.Add(1))
	list, err := admin.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: "registry-pull=" + runID})
	if err != nil {
		t.Fatal(err)
	}
	rec := recordPods(t, "registry-pull="+runID, list.ResourceVersion)
	podWith := func(prefix, image string, policy corev1.PullPolicy, secret string) *corev1.Pod {
		p := newPod(prefix, corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait")
		p.Labels = map[string]string{"registry-pull": runID}
		p.Spec.Containers[0].Image = image
		p.Spec.Containers[0].ImagePullPolicy = policy
		if secret != "" {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: secret}}
		}
		return createPod(t, p)
	}

	// Sequential steps: each relies on what the ones before pulled.
	steps := []struct {
		name   string
		image  string
		policy corev1.PullPolicy
		secret string
		// pulls says whether the registry must serve the image's manifest
		// (authorized) during the step, or must not.
		pulls  bool
		check  func(t *testing.T, pod *corev1.Pod)
		repoTg string
	}{
		{name: "IfNotPresent, missing: pulled with the secret", image: v1, policy: corev1.PullIfNotPresent, secret: "regcred", pulls: true, repoTg: "skiff/busybox:v1",
			check: func(t *testing.T, pod *corev1.Pod) {
				waitPod(t, pod, 60*time.Second, "Running", running)
				waitEvent(t, pod, "Pulling", fmt.Sprintf("Pulling image %q", v1))
				e := waitEvent(t, pod, "Pulled", fmt.Sprintf("Successfully pulled image %q in ", v1))
				if !strings.Contains(e.Message, " including waiting). Image size: ") || strings.Contains(e.Message, "Image size: 0 bytes") {
					t.Errorf("Pulled message = %q", e.Message)
				}
			}},
		{name: "IfNotPresent, present: not pulled", image: v1, policy: corev1.PullIfNotPresent, secret: "regcred", pulls: false, repoTg: "skiff/busybox:v1",
			check: func(t *testing.T, pod *corev1.Pod) {
				waitPod(t, pod, 60*time.Second, "Running", running)
				waitEvent(t, pod, "Pulled", fmt.Sprintf("Container image %q already present on machine", v1))
			}},
		{name: "Always, present: pulled again", image: v1, policy: corev1.PullAlways, secret: "regcred", pulls: true, repoTg: "skiff/busybox:v1",
			check: func(t *testing.T, pod *corev1.Pod) {
				waitPod(t, pod, 60*time.Second, "Running", running)
				waitEvent(t, pod, "Pulled", fmt.Sprintf("Successfully pulled image %q in ", v1))
			}},
		{name: "Never, missing: ErrImageNeverPull", image: v2, policy: corev1.PullNever, secret: "regcred", pulls: false, repoTg: "skiff/busybox:v2",
			check: func(t *testing.T, pod *corev1.Pod) {
				p := waitPod(t, pod, 60*time.Second, "ErrImageNeverPull", waitingReason(status.ReasonErrImageNeverPull))
				msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", v2)
				if w := p.Status.ContainerStatuses[0].State.Waiting; w.Message != msg {
					t.Errorf("waiting message = %q, want %q", w.Message, msg)
				}
				waitEvent(t, pod, "ErrImageNeverPull", msg)
				waitEvent(t, pod, "Failed", "Error: ErrImageNeverPull")
			}},
		{name: "wrong secret: ErrImagePull, then ImagePullBackOff", image: v2, policy: corev1.PullIfNotPresent, secret: "regcred-wrong", pulls: false, repoTg: "skiff/busybox:v2",
			check: func(t *testing.T, pod *corev1.Pod) { checkPullFails(t, rec, pod, v2) }},
		{name: "no secret: ErrImagePull, then ImagePullBackOff", image: v3, policy: corev1.PullAlways, pulls: false, repoTg: "skiff/busybox:v3",
			check: func(t *testing.T, pod *corev1.Pod) { checkPullFails(t, rec, pod, v3) }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := reg.manifestRequests(st.repoTg)
			pod := podWith("reg", st.image, st.policy, st.secret)
			st.check(t, pod)
			after := reg.manifestRequests(st.repoTg)
			if st.pulls && after == before {
				t.Errorf("registry saw no manifest request for %s", st.repoTg)
			}
			if !st.pulls && after != before {
				t.Errorf("registry served %d manifest requests for %s, want none", after-before, st.repoTg)
			}
		})
	}
	reg.mu.Lock()
	denied := reg.denied
	reg.mu.Unlock()
	if denied == 0 {
		t.Error("registry never refused a request: the failure cases did not reach it")
	}
}

// checkPullFails waits for a pull that the registry refuses to show as
// upstream shows it: ErrImagePull with the error, then ImagePullBackOff
// with the previous error, and the same events.
func checkPullFails(t *testing.T, rec *podRecorder, pod *corev1.Pod, image string) {
	t.Helper()
	_, p, ok := rec.first(pod.Name, time.Now().Add(60*time.Second), waitingReason(status.ReasonErrImagePull))
	if !ok {
		t.Fatalf("no ErrImagePull status within 60s")
	}
	pullMsg := fmt.Sprintf("Failed to pull image %q: ", image)
	if w := p.Status.ContainerStatuses[0].State.Waiting; !strings.HasPrefix(w.Message, pullMsg) || !strings.Contains(w.Message, "401 Unauthorized") {
		t.Errorf("ErrImagePull message = %q", w.Message)
	}
	_, p, ok = rec.first(pod.Name, time.Now().Add(60*time.Second), waitingReason(status.ReasonImagePullBackOff))
	if !ok {
		t.Fatalf("no ImagePullBackOff status within 60s")
	}
	backoff := fmt.Sprintf("Back-off pulling image %q", image)
	if w := p.Status.ContainerStatuses[0].State.Waiting; !strings.HasPrefix(w.Message, backoff+": ErrImagePull: "+pullMsg) {
		t.Errorf("ImagePullBackOff message = %q", w.Message)
	}
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase = %s", p.Status.Phase)
	}
	waitEvent(t, pod, "Pulling", fmt.Sprintf("Pulling image %q", image))
	if e := waitEvent(t, pod, "Failed", pullMsg); e.Type != corev1.EventTypeWarning {
		t.Errorf("pull failure event type %s", e.Type)
	}
	waitEvent(t, pod, "Failed", "Error: ErrImagePull")
	if e := waitEvent(t, pod, "BackOff", backoff); e.Type != corev1.EventTypeNormal {
		t.Errorf("BackOff event type %s", e.Type)
	}
	waitEvent(t, pod, "Failed", "Error: ImagePullBackOff")
}
