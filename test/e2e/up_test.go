package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// upConfig is a two-node cluster on addresses of its own, with a short
// node-monitor grace period and metric resolution so that node failure
// and kubectl top show within the test's time.
const upConfig = `apiVersion: skiff.dev/v1alpha1
kind: Cluster
name: e2eup
nodes:
- role: control-plane
- role: worker
  resources:
    cpu: "1"
    memory: 1Gi
networking:
  nodeSubnet: 172.31.232.0/24
  podSubnet: 10.249.0.0/16
  serviceSubnet: 10.98.0.0/16
apiServerExtraArgs:
  # above the kubelets' 10s lease renewal, or healthy nodes flap
  node-monitor-grace-period: 16s
  metric-resolution: 2s
`

const upWorkload = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Honor, labelSelector: {matchLabels: {app: web}}}
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      containers:
      - name: web
        image: skiff.dev/busybox:static
        command: ["sh", "-c", "mkdir -p /www && echo $(NODE) > /www/index.html && echo serving && exec httpd -f -p 80 -h /www"]
        env:
        - name: NODE
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

// TestUp runs `skiff up` for a control-plane node and a worker, serves a
// Deployment through a Service by DNS name from pods on both nodes, checks
// PreferClose, logs, exec and top, fails the worker and sees its pods
// replaced, brings it back with a second `skiff up`, brings the whole
// cluster back with its workloads after a simulated reboot, and checks that
// `skiff down` leaves nothing on the host.
func TestUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skiff up needs root")
	}
	c := newUpTestCluster(t, "e2eup", "sku", upConfig)
	dir, state, kubeconfig := c.dir, c.state, c.kubeconfig
	skiff, up := c.skiff, c.up
	t.Run("bad config", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte(strings.Replace(upConfig, "172.31.232.0/24", "172.31.232.0/33", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := skiff("up", "--config", bad, "--state-dir", state)
		if err == nil || !strings.Contains(out, "networking.nodeSubnet") {
			t.Errorf("skiff up with a bad nodeSubnet: err %v, output %q: want a failure naming networking.nodeSubnet", err, out)
		}
		if _, err := os.Stat(filepath.Join(state, "e2eup")); err == nil {
			t.Errorf("a rejected config left %s behind", filepath.Join(state, "e2eup"))
		}
	})

	up(t)
	kubectl := kubectlRunner([]string{skiffBinary, "kubectl"}, kubeconfig)
	must := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		out, err := kubectl(stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	const cpNode, worker = "e2eup-control-plane", "e2eup-worker"
	dump := func() {
		for _, args := range [][]string{{"get", "pods", "-A", "-o", "wide"}, {"describe", "pods"}, {"get", "events", "-A"}} {
			out, _ := kubectl("", args...)
			t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
		}
		for _, n := range []string{cpNode, worker} {
			out, _ := exec.Command(skiffBinary, "proxy", "status", "--bpffs", filepath.Join(state, "e2eup", "nodes", n, "bpf")).CombinedOutput()
			t.Logf("%s skiff proxy status:\n%s", n, out)
			for _, comp := range []string{"kubelet", "proxy"} {
				data, _ := os.ReadFile(filepath.Join(state, "e2eup", "nodes", n, "logs", comp+".log"))
				lines := strings.Split(string(data), "\n")
				t.Logf("%s %s log (tail):\n%s", n, comp, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	}

	t.Run("nodes", func(t *testing.T) {
		out := must(t, "", "get", "nodes")
		for _, want := range []string{cpNode + " +Ready +control-plane", worker + " +Ready +<none>"} {
			if !matches(out, want) {
				t.Errorf("kubectl get nodes: no line like %q in\n%s", want, out)
			}
		}
		// The worker's cgroup limits are its capacity.
		n, err := client.CoreV1().Nodes().Get(context.Background(), worker, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cpu, mem := n.Status.Capacity.Cpu().String(), n.Status.Capacity.Memory().String(); cpu != "1" || mem != "1Gi" {
			t.Errorf("worker capacity cpu %s memory %s, want 1 and 1Gi", cpu, mem)
		}
		// The control plane's DNS server publishes its own endpoint of
		// kube-dns, ready once it serves on a Ready node.
		pollE2E(t, 30*time.Second, "kube-dns endpoint of "+cpNode+" ready", func(ctx context.Context) (bool, error) {
			s, err := client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-"+cpNode, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return len(s.Endpoints) == 1 && s.Endpoints[0].Conditions.Ready != nil && *s.Endpoints[0].Conditions.Ready &&
				s.Endpoints[0].NodeName != nil && *s.Endpoints[0].NodeName == cpNode, nil
		})
	})

	must(t, upWorkload, "apply", "-f", "-")
	must(t, "", "rollout", "status", "deploy/web", "--timeout=90s")
	for _, n := range []string{cpNode, worker} {
		must(t, "", "run", "client-"+n, "--image=skiff.dev/busybox:static", "--restart=Always",
			"--overrides", fmt.Sprintf(`{"spec":{"nodeName":%q}}`, n), "--", "sleep", "3600")
	}
	must(t, "", "wait", "--for=condition=Ready", "pod/client-"+cpNode, "pod/client-"+worker, "--timeout=60s")
	// answers fetches the Service by its DNS name from the client pod on
	// node, n times, and counts the answering nodes.
	answers := func(t *testing.T, node string, n int) map[string]int {
		got := map[string]int{}
		for range n {
			out, err := kubectl("", "exec", "client-"+node, "--", "wget", "-q", "-O", "-", "http://web.default.svc.cluster.local")
			if err != nil {
				t.Fatalf("wget from %s: %v\n%s", node, err, out)
			}
			got[strings.TrimSpace(out)]++
		}
		return got
	}

	t.Run("service by DNS name from both nodes", func(t *testing.T) {
		for _, n := range []string{cpNode, worker} {
			// Each node's proxy programs the endpoints within its sync.
			pollE2E(t, 20*time.Second, "the Service reachable from "+n, func(context.Context) (bool, error) {
				out, err := kubectl("", "exec", "client-"+n, "--", "wget", "-q", "-O", "-", "http://web.default.svc.cluster.local")
				return err == nil && strings.HasPrefix(out, "e2eup-"), nil
			})
			got := answers(t, n, 24)
			if got[cpNode] == 0 || got[worker] == 0 || len(got) != 2 {
				t.Errorf("from %s: answers %v, want both nodes' pods", n, got)
			}
		}
	})

	t.Run("pod egress leaves with the node address", func(t *testing.T) {
		// The host's bridge address is outside the cluster and no node's:
		// a pod reaching it is masqueraded to its node's address.
		ln, err := net.Listen("tcp4", "172.31.232.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			fmt.Fprint(w, host)
		})}
		go srv.Serve(ln)
		defer srv.Close()
		for _, n := range []string{cpNode, worker} {
			node, err := client.CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var nodeIP string
			for _, a := range node.Status.Addresses {
				if a.Type == corev1.NodeInternalIP {
					nodeIP = a.Address
				}
			}
			out, err := kubectl("", "exec", "client-"+n, "--", "timeout", "10", "wget", "-q", "-O", "-", "http://"+ln.Addr().String()+"/")
			if err != nil {
				t.Fatalf("wget from %s to the host: %v\n%s", n, err, out)
			}
			if strings.TrimSpace(out) != nodeIP {
				t.Errorf("the host saw client-%s as %q, want its node's address %s", n, out, nodeIP)
			}
		}
	})

	t.Run("PreferClose keeps traffic on the client's node", func(t *testing.T) {
		must(t, "", "patch", "service", "web", "-p", `{"spec":{"trafficDistribution":"PreferClose"}}`)
		for _, n := range []string{cpNode, worker} {
			pollE2E(t, 30*time.Second, "answers only from "+n, func(context.Context) (bool, error) {
				got := answers(t, n, 8)
				return got[n] == 8, nil
			})
		}
		must(t, "", "patch", "service", "web", "--type=json", "-p", `[{"op":"remove","path":"/spec/trafficDistribution"}]`)
	})

	t.Run("logs exec top", func(t *testing.T) {
		pods := must(t, "", "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
		if out := must(t, "", "logs", pods); strings.TrimSpace(out) != "serving" {
			t.Errorf("kubectl logs %s = %q, want serving", pods, out)
		}
		if out := must(t, "", "exec", pods, "--", "cat", "/www/index.html"); !strings.HasPrefix(out, "e2eup-") {
			t.Errorf("kubectl exec cat = %q", out)
		}
		// nodes/proxy reaches the worker's kubelet through the API server.
		if out := must(t, "", "get", "--raw", "/api/v1/nodes/"+worker+"/proxy/pods"); !strings.Contains(out, `"kind":"PodList"`) || !strings.Contains(out, "client-"+worker) {
			t.Errorf("nodes/%s/proxy/pods: %.300s", worker, out)
		}
		var out string
		pollE2E(t, 60*time.Second, "kubectl top node", func(context.Context) (bool, error) {
			var err error
			out, err = kubectl("", "top", "node")
			return err == nil && strings.Contains(out, worker), nil
		})
		if !matches(out, `^NAME +CPU\(cores\) +CPU\(%\) +MEMORY\(bytes\) +MEMORY\(%\)`) {
			t.Errorf("kubectl top node:\n%s", out)
		}
	})

	t.Run("a failed node's pods move", func(t *testing.T) {
		for _, comp := range []string{"kubelet", "proxy"} {
			killPIDFile(t, filepath.Join(state, "e2eup", "nodes", worker, "run", comp+".pid"))
		}
		pollE2E(t, 60*time.Second, "the worker NotReady", func(ctx context.Context) (bool, error) {
			n, err := client.CoreV1().Nodes().Get(ctx, worker, metav1.GetOptions{})
			return err == nil && !nodeIsReady(n), nil
		})
		pollE2E(t, 90*time.Second, "3 ready web pods, none on the worker", func(ctx context.Context) (bool, error) {
			pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				return false, nil
			}
			ready := 0
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil && p.Spec.NodeName == cpNode && podIsReady(&p) {
					ready++
				}
			}
			return ready == 3, nil
		})
	})

	t.Run("skiff up again brings the worker back", func(t *testing.T) {
		up(t)
		n, err := client.CoreV1().Nodes().Get(context.Background(), worker, metav1.GetOptions{})
		if err != nil || !nodeIsReady(n) {
			t.Fatalf("worker after the second skiff up: %v ready=%v", err, err == nil && nodeIsReady(n))
		}
		if out := must(t, "", "exec", "client-"+cpNode, "--", "wget", "-q", "-O", "-", "http://web.default.svc.cluster.local"); !strings.HasPrefix(out, "e2eup-") {
			t.Errorf("after the worker's return: %q", out)
		}
	})

	t.Run("another config for the same cluster is refused", func(t *testing.T) {
		other := filepath.Join(dir, "other.yaml")
		if err := os.WriteFile(other, []byte(strings.Replace(upConfig, "- role: worker\n", "- role: worker\n- role: worker\n", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := skiff("up", "--config", other, "--state-dir", state)
		if err == nil || !strings.Contains(out, "already exists with another config") {
			t.Errorf("skiff up with another config: err %v, output %q", err, out)
		}
	})

	t.Run("a host reboot keeps the cluster", func(t *testing.T) {
		// skiff down --keep-data leaves what a reboot leaves: the data,
		// and no process, namespace, mount or cgroup.
		if out, err := skiff("down", "--name", "e2eup", "--state-dir", state, "--keep-data"); err != nil {
			t.Fatalf("skiff down --keep-data: %v\n%s", err, out)
		}
		if left := processesMentioning(state); len(left) > 0 {
			t.Fatalf("processes left after down --keep-data: %v", left)
		}
		up(t)
		must(t, "", "rollout", "status", "deploy/web", "--timeout=90s")
		// The clients restart (restartPolicy Always), as on a rebooted
		// machine; a Never pod would fail with ContainerStatusUnknown.
		must(t, "", "wait", "--for=condition=Ready", "pod/client-"+worker, "--timeout=60s")
		pollE2E(t, 30*time.Second, "the Service reachable again", func(context.Context) (bool, error) {
			out, err := kubectl("", "exec", "client-"+worker, "--", "wget", "-q", "-O", "-", "http://web.default.svc.cluster.local")
			return err == nil && strings.HasPrefix(out, "e2eup-"), nil
		})
	})

	if t.Failed() {
		dump()
	}
	t.Run("skiff down leaves nothing", func(t *testing.T) { c.downLeavesNothing(t, "172.31.232.") })
}

func killPIDFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", path, err)
	}
}

func nodeIsReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// matches reports whether some line of out matches the regular expression.
func matches(out, re string) bool {
	return regexp.MustCompile("(?m)" + re).MatchString(out)
}
