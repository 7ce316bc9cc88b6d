package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/testenv/fakenode"
)

// startServer runs `skiff server` (API server, controller manager and
// scheduler in one process) and three fake nodes that heartbeat every second
// and run the pods bound to them.
func startServer(t *testing.T, extraArgs ...string) (*apiServer, kubernetes.Interface, *fakenode.Nodes) {
	t.Helper()
	dir, port := t.TempDir(), freePort(t)
	args := append([]string{"server", "--data-dir", dir, "--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1"}, extraArgs...)
	p := start(t, args...)
	s := &apiServer{process: p, dataDir: dir, port: port, url: fmt.Sprintf("https://127.0.0.1:%d", port)}
	waitReady(t, s.url, p)
	client := s.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nodes, err := fakenode.Start(ctx, fakenode.Config{Client: client, Names: []string{"node-a", "node-b", "node-c"}, HeartbeatInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s, client, nodes
}

func pollE2E(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok && err == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s (last: %v)", what, timeout, last)
	}
}

func webDeployment(ns string, replicas int, image string, extraPodSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %s
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 3, maxUnavailable: 2}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: %s
%s`, ns, replicas, image, extraPodSpec)
}

// readyPods counts the pods of app=web that are Ready and not terminating,
// and all pods of app=web.
func readyPods(ctx context.Context, client kubernetes.Interface, ns string) (ready, all int, err error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range pods.Items {
		all++
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready, all, nil
}

// TestServerDeploymentLifecycle is issue 5's end-to-end walk: kubectl
// applies a Deployment of 10 replicas, the scheduler binds them to fake
// nodes, the rollout completes; an image change rolls out within
// maxUnavailable and maxSurge; rollout undo brings the old template back;
// scale to 0 removes the pods; deleting the namespace removes everything.
func TestServerDeploymentLifecycle(t *testing.T) {
	s, client, _ := startServer(t)
	kubectl := kubectlRunner([]string{skiffBinary, "kubectl"}, s.kubeconfig())
	const ns = "rollout"
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, err := kubectl(stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s\nserver log tail:\n%s", strings.Join(args, " "), err, out, tail(s.out.String(), 40))
		}
		return out
	}
	run("", "create", "namespace", ns)
	run(webDeployment(ns, 10, "registry.example/web:1", ""), "apply", "-f", "-")
	run("", "rollout", "status", "deployment/web", "-n", ns, "--timeout=120s")
	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 10 {
		t.Fatalf("%d pods after the rollout, want 10", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q, phase %s; want bound and Running", p.Name, p.Spec.NodeName, p.Status.Phase)
		}
	}

	// The image change, sampled while it rolls: never fewer than 10-2 ready
	// pods, never more than 10+3 pods.
	var mu sync.Mutex
	minReady, maxAll := 10, 0
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampleCtx.Err() == nil {
			ready, all, err := readyPods(sampleCtx, client, ns)
			if err == nil {
				mu.Lock()
				minReady, maxAll = min(minReady, ready), max(maxAll, all)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	run("", "set", "image", "deployment/web", "web=registry.example/web:2", "-n", ns)
	run("", "rollout", "status", "deployment/web", "-n", ns, "--timeout=120s")
	stopSampling()
	<-sampled
	if minReady < 8 {
		t.Errorf("during the rollout only %d pods were ready; maxUnavailable 2 allows no fewer than 8", minReady)
	}
	if maxAll > 13 {
		t.Errorf("during the rollout %d pods existed; maxSurge 3 allows no more than 13", maxAll)
	}
	if out := run("", "rollout", "history", "deployment/web", "-n", ns); !strings.Contains(out, "1 ") || !strings.Contains(out, "2 ") {
		t.Errorf("rollout history does not list revisions 1 and 2:\n%s", out)
	}

	run("", "rollout", "undo", "deployment/web", "-n", ns)
	run("", "rollout", "status", "deployment/web", "-n", ns, "--timeout=120s")
	if image := run("", "get", "deployment/web", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); image != "registry.example/web:1" {
		t.Errorf("image after rollout undo = %q, want registry.example/web:1", image)
	}

	run("", "scale", "deployment/web", "-n", ns, "--replicas=0")
	pollE2E(t, 60*time.Second, "scaled to 0, no pods remain", func(ctx context.Context) (bool, error) {
		_, all, err := readyPods(ctx, client, ns)
		return all == 0, err
	})

	run("", "delete", "namespace", ns, "--timeout=120s")
	pollE2E(t, 120*time.Second, "the namespace and everything in it are gone", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		rs, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(rs.Items) == 0, nil
	})
}

// TestServerReplacesPodsOfLostNode stops one fake node's heartbeat: the node
// turns Unknown, is tainted unreachable, its pods are evicted after their
// tolerationSeconds, and the ReplicaSet replaces them on the other nodes.
func TestServerReplacesPodsOfLostNode(t *testing.T) {
	s, client, nodes := startServer(t, "--node-monitor-grace-period=4s")
	kubectl := kubectlRunner([]string{skiffBinary, "kubectl"}, s.kubeconfig())
	const ns = "nodeloss"
	tolerations := `      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
`
	for _, args := range [][]string{{"create", "namespace", ns}, {"apply", "-f", "-"}, {"rollout", "status", "deployment/web", "-n", ns, "--timeout=120s"}} {
		stdin := ""
		if args[0] == "apply" {
			stdin = webDeployment(ns, 6, "registry.example/web:1", tolerations)
		}
		if out, err := kubectl(stdin, args...); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods: %v, %v", pods, err)
	}
	lost := pods.Items[0].Spec.NodeName
	nodes.Stop(lost)

	pollE2E(t, 60*time.Second, "the lost node is Unknown and tainted unreachable", func(ctx context.Context) (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, lost, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		unknown := false
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionUnknown {
				unknown = true
			}
		}
		tainted := false
		for _, taint := range node.Spec.Taints {
			if taint.Key == corev1.TaintNodeUnreachable && taint.Effect == corev1.TaintEffectNoExecute {
				tainted = true
			}
		}
		if !unknown || !tainted {
			return false, fmt.Errorf("Ready Unknown %v, unreachable:NoExecute %v", unknown, tainted)
		}
		return true, nil
	})
	pollE2E(t, 90*time.Second, "6 ready pods, none on the lost node", func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Spec.NodeName == lost {
				return false, fmt.Errorf("pod %s still runs on %s", p.Name, lost)
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready != 6 {
			return false, fmt.Errorf("%d ready pods", ready)
		}
		return true, nil
	})
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
