package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/skiff-dev/skiff/apiserver/certs"
)

const e2eNode = "e2e-node"

// kubeletEnv is a `skiff apiserver` with one `skiff kubelet` node.
type kubeletEnv struct {
	api         *apiServer
	client      kubernetes.Interface
	kubectl     func(stdin string, args ...string) (string, error)
	kubeletDir  string
	kubeconfig  string
	kubeletArgs []string
	kubelet     *process
	// t is the test the environment belongs to: a kubelet restarted in a
	// subtest must be cleaned up with it, not when the subtest ends.
	t *testing.T
}

// startKubeletEnv starts the API server and a kubelet with its own data
// dir, bridge, pod range and cgroup root, authenticated as
// system:node:e2e-node with a certificate of the server's CA.
func startKubeletEnv(t *testing.T) *kubeletEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the kubelet needs root (containerd, runc, netns, cgroups)")
	}
	for _, bin := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (hack/install-deps.sh installs it)", bin)
		}
	}
	dir := t.TempDir()
	cgroupRoot := fmt.Sprintf("skiff-e2e-%d", os.Getpid())
	api := startAPIServer(t, filepath.Join(dir, "api"), freePort(t))
	env := &kubeletEnv{t: t, api: api, client: api.client(t), kubectl: kubectlRunner([]string{skiffBinary, "kubectl"}, api.kubeconfig())}

	pki := filepath.Join(api.dataDir, "pki")
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	// Short: the containerd socket path under it must fit a unix socket.
	env.kubeletDir, err = os.MkdirTemp("", "skk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(env.kubeletDir) })
	cert, key := filepath.Join(env.kubeletDir, "node.crt"), filepath.Join(env.kubeletDir, "node.key")
	if err := ca.EnsureClient(cert, key, "system:node:"+e2eNode, []string{"system:nodes"}); err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["skiff"] = &clientcmdapi.Cluster{Server: api.url, CertificateAuthority: ca.CertFile}
	kc.AuthInfos[e2eNode] = &clientcmdapi.AuthInfo{ClientCertificate: cert, ClientKey: key}
	kc.Contexts["node"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: e2eNode}
	kc.CurrentContext = "node"
	env.kubeconfig = filepath.Join(env.kubeletDir, "kubelet.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, env.kubeconfig); err != nil {
		t.Fatal(err)
	}
	env.kubeletArgs = []string{"kubelet", "--kubeconfig", env.kubeconfig, "--node-name", e2eNode,
		"--data-dir", filepath.Join(env.kubeletDir, "data"), "--pod-cidr", "10.246.77.0/24", "--bridge-name", "ske2e0",
		"--cgroup-root", "/" + cgroupRoot, "--port", strconv.Itoa(freePort(t))}
	env.kubelet = start(t, env.kubeletArgs...)
	// Pods go before the kubelet stops, so it tears them down: nothing is
	// left running, mounted or in a netns after the test. What the kubelet
	// keeps for running pods across its own restarts (the bridge, the pod
	// cgroup root) goes after it.
	t.Cleanup(func() { removeNodeLeftovers(t, "ske2e0", cgroupRoot) })
	t.Cleanup(func() { env.deleteAllPods(t) })

	pollE2E(t, 90*time.Second, "node Ready", func(ctx context.Context) (bool, error) {
		if env.kubelet.exited() {
			return false, fmt.Errorf("kubelet exited: %v\n%s", env.kubelet.err, tail(env.kubelet.out.String(), 40))
		}
		n, err := env.client.CoreV1().Nodes().Get(ctx, e2eNode, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	// A bare API server runs no controllers: make what the service-account
	// and root-CA publishers would, for the pods' kube-api-access volumes.
	if _, err := env.client.CoreV1().ServiceAccounts("default").Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": string(caPEM)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(skiffBinary, "image", "build-busybox", "--data-dir", filepath.Join(env.kubeletDir, "data")).CombinedOutput()
	if err != nil {
		t.Fatalf("skiff image build-busybox: %v\n%s", err, out)
	}
	return env
}

func (e *kubeletEnv) deleteAllPods(t *testing.T) {
	ctx := context.Background()
	_ = e.client.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !e.kubelet.exited() {
		pods, err := e.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err == nil && len(pods.Items) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.kubelet.stop(t)
}

func (e *kubeletEnv) mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := e.kubectl(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s\nkubelet log:\n%s", strings.Join(args, " "), err, out, tail(e.kubelet.out.String(), 30))
	}
	return out
}

func (e *kubeletEnv) pod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 5
  containers:
  - name: httpd
    image: skiff.dev/busybox:static
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www"]
    ports:
    - containerPort: 8080
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
`

const crashPod = `apiVersion: v1
kind: Pod
metadata:
  name: crash
spec:
  nodeName: e2e-node
  containers:
  - name: main
    image: skiff.dev/busybox:static
    command: ["sh", "-c", "echo bye; exit 3"]
`

const livenessPod = `apiVersion: v1
kind: Pod
metadata:
  name: liveness
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: skiff.dev/busybox:static
    command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 1
`

// TestKubeletEndToEnd drives `skiff kubelet` with stock kubectl: pods run
// and get Ready, logs/exec/cp/port-forward reach them through the API
// server, a crashing container backs off, a failing liveness probe
// restarts one, kill -9 of the kubelet disturbs nothing, and deletion ends
// within the grace period.
func TestKubeletEndToEnd(t *testing.T) {
	e := startKubeletEnv(t)
	e.mustKubectl(t, webPod, "apply", "-f", "-")
	e.mustKubectl(t, "", "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
	e.mustKubectl(t, crashPod, "apply", "-f", "-")
	e.mustKubectl(t, livenessPod, "apply", "-f", "-")
	e.mustKubectl(t, stdinPod, "apply", "-f", "-")
	e.mustKubectl(t, "", "wait", "--for=condition=Ready", "pod/stdin", "--timeout=60s")

	t.Run("get wide", func(t *testing.T) {
		out := e.mustKubectl(t, "", "get", "pod", "web", "-o", "wide")
		if !regexp.MustCompile(`(?m)^web\s+1/1\s+Running\s+0\s+\S+\s+10\.246\.77\.\d+\s+e2e-node`).MatchString(out) {
			t.Errorf("kubectl get -o wide:\n%s", out)
		}
	})
	t.Run("top", func(t *testing.T) {
		// The API server's scraper needs two samples of the kubelet's
		// /metrics/resource, --metric-resolution (15s) apart.
		var out string
		pollE2E(t, 90*time.Second, "kubectl top pod web", func(ctx context.Context) (bool, error) {
			var err error
			out, err = e.kubectl("", "top", "pod", "web")
			return err == nil, nil
		})
		// A busybox httpd's working set may print as 0Mi: the API has bytes.
		if !regexp.MustCompile(`(?m)^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*\n^web\s+\d+m\s+\d+Mi\s*$`).MatchString(out) {
			t.Errorf("kubectl top pod web:\n%s", out)
		}
		pm, err := metricsclient.NewForConfigOrDie(e.api.config(t)).MetricsV1beta1().PodMetricses("default").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pm.Containers) != 1 || pm.Containers[0].Usage.Memory().IsZero() || pm.Window.Duration <= 0 {
			t.Errorf("web's PodMetrics = %+v", pm)
		}
		// The node's samples are scraped with the pods', but its rate
		// needs two samples of its own with distinct timestamps.
		pollE2E(t, 60*time.Second, "kubectl top node", func(ctx context.Context) (bool, error) {
			var err error
			out, err = e.kubectl("", "top", "node")
			return err == nil, nil
		})
		if !regexp.MustCompile(`(?m)^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*\n^e2e-node\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*$`).MatchString(out) {
			t.Errorf("kubectl top node:\n%s", out)
		}
	})
	for name, kubectl := range kubectls() {
		run := kubectlRunner(kubectl, e.api.kubeconfig())
		t.Run(name+"/logs and exec", func(t *testing.T) {
			runKubectlSteps(t, run, []kubectlStep{
				{name: "logs", args: []string{"logs", "web"}, want: []string{`^serving$`}},
				{name: "exec", args: []string{"exec", "web", "--", "cat", "/www/index.html"}, want: []string{`^hello-from-web$`}},
				{name: "exec stdin", args: []string{"exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z"}, stdin: "shout\n", want: []string{`^SHOUT$`}},
				{name: "exec exit code", args: []string{"exec", "web", "--", "sh", "-c", "exit 7"}, wantErr: true, want: []string{`exit code 7`}},
			})
		})
	}
	t.Run("service account token", func(t *testing.T) {
		const dir = "/var/run/secrets/kubernetes.io/serviceaccount/"
		if ns := e.mustKubectl(t, "", "exec", "web", "--", "cat", dir+"namespace"); ns != "default" {
			t.Errorf("namespace file = %q", ns)
		}
		token := e.mustKubectl(t, "", "exec", "web", "--", "cat", dir+"token")
		review, err := e.client.AuthenticationV1().TokenReviews().Create(context.Background(), &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := review.Status
		if !st.Authenticated || st.User.Username != "system:serviceaccount:default:default" || strings.Join(st.User.Extra["authentication.kubernetes.io/pod-name"], "") != "web" {
			t.Errorf("pod token review: %+v", st)
		}
	})
	t.Run("cp", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "note.txt")
		if err := os.WriteFile(local, []byte("copied in\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.mustKubectl(t, "", "cp", local, "web:/tmp/note.txt")
		if out := e.mustKubectl(t, "", "exec", "web", "--", "cat", "/tmp/note.txt"); strings.TrimSpace(out) != "copied in" {
			t.Errorf("file copied in reads %q", out)
		}
		back := filepath.Join(t.TempDir(), "back.txt")
		e.mustKubectl(t, "", "cp", "web:/www/index.html", back)
		if b, _ := os.ReadFile(back); strings.TrimSpace(string(b)) != "hello-from-web" {
			t.Errorf("file copied out reads %q", b)
		}
	})
	t.Run("port-forward", func(t *testing.T) {
		cmd := exec.Command(skiffBinary, "kubectl", "port-forward", "pod/web", ":8080")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+e.api.kubeconfig())
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		ports := make(chan string, 1)
		go func() {
			re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+)`)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					ports <- m[1]
				}
			}
		}()
		var port string
		select {
		case port = <-ports:
		case <-time.After(30 * time.Second):
			t.Fatal("kubectl port-forward printed no local port")
		}
		for i := 0; i < 3; i++ { // several connections through one forward
			resp, err := http.Get("http://127.0.0.1:" + port + "/index.html")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) != "hello-from-web" {
				t.Fatalf("through port-forward: %d %q", resp.StatusCode, body)
			}
		}
	})
	t.Run("crash loop", func(t *testing.T) {
		pollE2E(t, 90*time.Second, "crash pod in CrashLoopBackOff", func(ctx context.Context) (bool, error) {
			p := e.pod(t, "crash")
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" && cs.RestartCount >= 1 &&
					cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode == 3 {
					return true, nil
				}
			}
			return false, nil
		})
		if out := e.mustKubectl(t, "", "get", "pod", "crash"); !strings.Contains(out, "CrashLoopBackOff") {
			t.Errorf("kubectl get pod crash:\n%s", out)
		}
		if out := e.mustKubectl(t, "", "logs", "crash", "--previous"); strings.TrimSpace(out) != "bye" {
			t.Errorf("logs --previous = %q", out)
		}
	})
	t.Run("liveness restart", func(t *testing.T) {
		pollE2E(t, 90*time.Second, "liveness pod restarted", func(ctx context.Context) (bool, error) {
			p := e.pod(t, "liveness")
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1, nil
		})
		out := e.mustKubectl(t, "", "get", "events", "--field-selector", "involvedObject.name=liveness,reason=Unhealthy")
		if !strings.Contains(out, "Liveness probe failed") {
			t.Errorf("no Unhealthy event:\n%s", out)
		}
	})
	seq := 0
	for name, kubectl := range kubectls() {
		seq++
		testAttachAndTTY(t, e, name, kubectl, seq)
	}
	t.Run("kubelet kill -9", func(t *testing.T) {
		before := e.pod(t, "web")
		b := before.Status.ContainerStatuses[0]
		// Every status of web published from before the kill until 2 s
		// after the new kubelet's start must be Ready, with the same
		// container and restart count (issue 6).
		wctx, stopWatch := context.WithCancel(context.Background())
		defer stopWatch()
		w, err := e.client.CoreV1().Pods("default").Watch(wctx, metav1.ListOptions{
			FieldSelector: "metadata.name=web", ResourceVersion: before.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		type version struct {
			at  time.Time
			pod *corev1.Pod
		}
		versions := make(chan []version, 1)
		go func() {
			var vs []version
			for ev := range w.ResultChan() {
				if p, ok := ev.Object.(*corev1.Pod); ok {
					vs = append(vs, version{time.Now(), p})
				}
			}
			versions <- vs
		}()
		e.kubelet.kill()
		restarted := time.Now()
		e.kubelet = start(e.t, e.kubeletArgs...)
		// Cleanups run last-registered first: the pods must go before
		// start's own cleanup kills this kubelet.
		e.t.Cleanup(func() { e.deleteAllPods(e.t) })
		// The restarted kubelet re-adopts the running pod: same container,
		// same restart count, still Ready, and it serves exec again.
		pollE2E(t, 30*time.Second, "web re-adopted", func(ctx context.Context) (bool, error) {
			out, err := e.kubectl("", "exec", "web", "--", "cat", "/www/index.html")
			return err == nil && strings.TrimSpace(out) == "hello-from-web", nil
		})
		t.Logf("exec into web works %s after the kubelet's restart", time.Since(restarted).Round(time.Millisecond))
		if d := time.Until(restarted.Add(2 * time.Second)); d > 0 {
			time.Sleep(d) // the observation window itself, not synchronisation
		}
		w.Stop()
		vs := <-versions
		for _, v := range vs {
			var cs corev1.ContainerStatus
			if len(v.pod.Status.ContainerStatuses) == 1 {
				cs = v.pod.Status.ContainerStatuses[0]
			}
			if !cs.Ready || cs.ContainerID != b.ContainerID || cs.RestartCount != b.RestartCount {
				t.Errorf("web published %s after the kubelet's restart: ready %v, %s, restarts %d (before: %s, restarts %d)",
					v.at.Sub(restarted).Round(time.Millisecond), cs.Ready, cs.ContainerID, cs.RestartCount, b.ContainerID, b.RestartCount)
			}
		}
		t.Logf("web: %d status versions published across the restart, all Ready with the same container", len(vs))
		pollE2E(t, 2*time.Second, "web Ready after the restart", func(ctx context.Context) (bool, error) {
			a := e.pod(t, "web").Status.ContainerStatuses[0]
			if a.ContainerID != b.ContainerID || a.RestartCount != b.RestartCount {
				t.Fatalf("after kubelet restart: %s restarts %d, before %s restarts %d", a.ContainerID, a.RestartCount, b.ContainerID, b.RestartCount)
			}
			return a.Ready, nil
		})
	})
	t.Run("attach after kubelet restart", func(t *testing.T) {
		// The restarted kubelet took the stdin pod's FIFOs over: input
		// still reaches the container and its output the attach and log.
		it := startInteractive(t, []string{skiffBinary, "kubectl"}, e.api.kubeconfig(), false, "attach", "-i", "stdin")
		it.send(t, "after-restart\n")
		it.expect(t, `^echo:after-restart$`)
		it.in.Close()
		if err := it.wait(t); err != nil {
			t.Fatalf("kubectl attach -i: %v\n%s", err, it.out.String())
		}
		pollE2E(t, 10*time.Second, "log of the stdin pod", func(context.Context) (bool, error) {
			out, err := e.kubectl("", "logs", "stdin")
			return err == nil && strings.Contains(out, "echo:after-restart"), nil
		})
	})
	t.Run("delete within grace", func(t *testing.T) {
		start := time.Now()
		e.mustKubectl(t, "", "delete", "pod", "web", "--timeout=60s")
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("kubectl delete pod took %s with a 5s grace period", d)
		}
	})
}

// removeNodeLeftovers deletes a test kubelet's bridge and pod cgroup tree
// (in every hierarchy) once its pods are gone.
func removeNodeLeftovers(t *testing.T, bridge, cgroupRoot string) {
	if out, err := exec.Command("ip", "link", "del", bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		t.Errorf("delete bridge %s: %v: %s", bridge, err, out)
	}
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", cgroupRoot))
	if unified := filepath.Join("/sys/fs/cgroup", cgroupRoot); dirExists(unified) {
		roots = append(roots, unified)
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- { // children first
			if err := os.Remove(dirs[i]); err != nil {
				t.Errorf("remove cgroup %s (a process left in it?): %v", dirs[i], err)
			}
		}
	}
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
