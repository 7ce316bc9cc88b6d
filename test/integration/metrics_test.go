package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	apiserver "github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/controllers/podautoscaler"
)

// metricsKubelet is a fake kubelet whose /metrics/resource counters advance
// by a fixed step per request, stamped one kubelet-second apart, so every
// pair of consecutive scrapes gives the same rates: the node 2 cores, web's
// app 500m and sidecar 100m, db 250m.
type metricsKubelet struct {
	*httptest.Server
	base time.Time

	mu       sync.Mutex
	requests int
	paths    []string
}

func newMetricsKubelet(t *testing.T, ns string) *metricsKubelet {
	k := &metricsKubelet{base: time.Now().Truncate(time.Second)}
	k.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.requests++
		i := float64(k.requests)
		k.paths = append(k.paths, r.URL.Path)
		k.mu.Unlock()
		if r.URL.Path != "/metrics/resource" {
			http.NotFound(w, r)
			return
		}
		ms := k.base.Add(time.Duration(i) * time.Second).UnixMilli()
		start := k.base.Add(-time.Hour).Unix()
		fmt.Fprintf(w, "# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total %g %d\n", 1000+2*i, ms)
		fmt.Fprintf(w, "node_memory_working_set_bytes %d %d\n", 1<<30, ms)
		for _, c := range []struct {
			pod, container string
			rate           float64
			memory         int
		}{{"web", "app", 0.5, 100 << 20}, {"web", "sidecar", 0.1, 20 << 20}, {"db", "db", 0.25, 50 << 20}} {
			l := fmt.Sprintf(`{container=%q,namespace=%q,pod=%q}`, c.container, ns, c.pod)
			fmt.Fprintf(w, "container_cpu_usage_seconds_total%s %g %d\n", l, 10+c.rate*i, ms)
			fmt.Fprintf(w, "container_memory_working_set_bytes%s %d %d\n", l, c.memory, ms)
			fmt.Fprintf(w, "container_start_time_seconds%s %d %d\n", l, start, start*1000)
		}
	}))
	t.Cleanup(k.Close)
	return k
}

// TestResourceMetrics runs an API server scraping a fake kubelet every
// 100ms and checks metrics.k8s.io as kubectl top, the HPA's metrics client
// and RBAC see it.
func TestResourceMetrics(t *testing.T) {
	ts, err := testserver.Start(testserver.Options{Customize: func(o *apiserver.Options) {
		o.MetricResolution = 100 * time.Millisecond
	}})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	defer ts.Stop()
	ctx := context.Background()
	client := ts.Client()
	ns := "metrics"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubelet := newMetricsKubelet(t, ns)
	node := createMetricsNode(t, client, "metrics-node", kubelet)
	// A node that is not Ready is not scraped and has no metrics.
	createMetricsNode(t, client, "metrics-node-notready", nil)
	for _, p := range []struct {
		name       string
		containers []string
	}{{"web", []string{"app", "sidecar"}}, {"db", []string{"db"}}, {"idle", []string{"idle"}}} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: map[string]string{"app": p.name}},
			Spec:       corev1.PodSpec{NodeName: node.Name},
		}
		for _, c := range p.containers {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "busybox:1.36"})
		}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.name, err)
		}
	}
	mc := metricsclient.NewForConfigOrDie(ts.Config).MetricsV1beta1()

	// Two scrapes are needed; poll with a deadline for the node and web.
	var nm *metricsv1beta1.NodeMetrics
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		nm, err = mc.NodeMetricses().Get(ctx, node.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, err = mc.PodMetricses(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("node and pod metrics: %v", err)
	}

	t.Run("NodeMetrics", func(t *testing.T) {
		wantQuantity(t, "node cpu", nm.Usage[corev1.ResourceCPU], "2")
		wantQuantity(t, "node memory", nm.Usage[corev1.ResourceMemory], "1Gi")
		if nm.Window.Duration != time.Second {
			t.Errorf("window = %s, want the kubelet's 1s between samples", nm.Window.Duration)
		}
		// The timestamp is the last sample's, as the kubelet stamped it.
		if d := nm.Timestamp.Sub(kubelet.base); d < 2*time.Second || d%time.Second != 0 {
			t.Errorf("timestamp = %s, want base %s + n≥2 kubelet seconds", nm.Timestamp, kubelet.base)
		}
		if nm.Labels["kubernetes.io/hostname"] != node.Name {
			t.Errorf("labels = %v, want the node's", nm.Labels)
		}
		list, err := mc.NodeMetricses().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != node.Name {
			t.Errorf("list = %+v, want only %s (the NotReady node has no metrics)", list.Items, node.Name)
		}
		for selector, want := range map[string]int{"metadata.name=" + node.Name: 1, "metadata.name=other": 0} {
			list, err := mc.NodeMetricses().List(ctx, metav1.ListOptions{FieldSelector: selector})
			if err != nil || len(list.Items) != want {
				t.Errorf("list with field selector %s: %d items, err %v; want %d", selector, len(list.Items), err, want)
			}
		}
		list, err = mc.NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/hostname=other"})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("list with a label selector matching nothing: %+v, %v", list, err)
		}
		for _, name := range []string{"metrics-node-notready", "no-such-node"} {
			if _, err := mc.NodeMetricses().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get %s: err = %v, want NotFound", name, err)
			}
		}
	})

	t.Run("PodMetrics", func(t *testing.T) {
		pm, err := mc.PodMetricses(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pm.Window.Duration != time.Second || len(pm.Containers) != 2 || pm.Containers[0].Name != "app" || pm.Containers[1].Name != "sidecar" {
			t.Fatalf("web = %+v", pm)
		}
		wantQuantity(t, "app cpu", pm.Containers[0].Usage[corev1.ResourceCPU], "500m")
		wantQuantity(t, "app memory", pm.Containers[0].Usage[corev1.ResourceMemory], "100Mi")
		wantQuantity(t, "sidecar cpu", pm.Containers[1].Usage[corev1.ResourceCPU], "100m")
		if pm.Labels["app"] != "web" {
			t.Errorf("labels = %v, want the pod's", pm.Labels)
		}
		all, err := mc.PodMetricses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range all.Items {
			names = append(names, m.Namespace+"/"+m.Name)
		}
		if strings.Join(names, ",") != ns+"/db,"+ns+"/web" {
			t.Errorf("all pod metrics = %v, want db and web (idle is not reported by the kubelet)", names)
		}
		for _, opts := range []metav1.ListOptions{{LabelSelector: "app=db"}, {FieldSelector: "metadata.name=db"}} {
			list, err := mc.PodMetricses(ns).List(ctx, opts)
			if err != nil || len(list.Items) != 1 || list.Items[0].Name != "db" {
				t.Errorf("list %+v: %+v, %v; want only db", opts, list, err)
			}
		}
		_, err = mc.PodMetricses(ns).Get(ctx, "no-such-pod", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("unknown pod: err = %v, want NotFound", err)
		}
		_, err = mc.PodMetricses(ns).Get(ctx, "idle", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `podmetrics.metrics.k8s.io "`+ns+`/idle" not found`) {
			t.Errorf("pod without metrics: err = %v, want metrics-server's NotFound", err)
		}
		// Over protobuf too, as client-go's defaults for built-ins are.
		cfg := rest.CopyConfig(ts.Config)
		cfg.ContentType = runtime.ContentTypeProtobuf
		cfg.AcceptContentTypes = runtime.ContentTypeProtobuf
		if list, err := metricsclient.NewForConfigOrDie(cfg).MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 2 {
			t.Errorf("list over protobuf: %+v, %v", list, err)
		}
	})

	t.Run("HPAMetricsClient", func(t *testing.T) {
		hpa := podautoscaler.ResourceMetrics{Client: mc}
		got, _, err := hpa.ResourceMetric(ctx, corev1.ResourceCPU, ns, labels.SelectorFromSet(labels.Set{"app": "web"}), "")
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := got["web"]; !ok || m.Value != 600 || m.Window != time.Second {
			t.Errorf("web cpu = %+v, want 600 milli-cores over 1s", got)
		}
		got, _, err = hpa.ResourceMetric(ctx, corev1.ResourceCPU, ns, labels.SelectorFromSet(labels.Set{"app": "web"}), "sidecar")
		if err != nil || got["web"].Value != 100 {
			t.Errorf("web sidecar cpu = %+v, %v; want 100", got, err)
		}
	})

	t.Run("Discovery", func(t *testing.T) {
		dc := discovery.NewDiscoveryClientForConfigOrDie(ts.Config)
		resources, err := dc.ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]metav1.APIResource{}
		for _, r := range resources.APIResources {
			found[r.Name] = r
		}
		if r := found["nodes"]; r.Kind != "NodeMetrics" || r.Namespaced || strings.Join(r.Verbs, ",") != "get,list" {
			t.Errorf("nodes = %+v", r)
		}
		if r := found["pods"]; r.Kind != "PodMetrics" || !r.Namespaced || strings.Join(r.Verbs, ",") != "get,list" {
			t.Errorf("pods = %+v", r)
		}
		agg := aggregatorclient.NewForConfigOrDie(ts.Config).ApiregistrationV1().APIServices()
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			s, err := agg.Get(ctx, "v1beta1.metrics.k8s.io", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			if s.Spec.Service != nil {
				return false, fmt.Errorf("APIService is not Local: %+v", s.Spec)
			}
			for _, c := range s.Status.Conditions {
				if c.Type == apiregistrationv1.Available && c.Status == apiregistrationv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Errorf("APIService v1beta1.metrics.k8s.io Local and Available: %v", err)
		}
	})

	t.Run("RBAC", func(t *testing.T) {
		as := func(user string) metricsclient.Interface {
			cfg := rest.CopyConfig(ts.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
			return metricsclient.NewForConfigOrDie(cfg)
		}
		nobody := as("metrics-nobody").MetricsV1beta1()
		if _, err := nobody.NodeMetricses().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("unprivileged node metrics list: err = %v, want Forbidden", err)
		}
		if _, err := nobody.PodMetricses(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("unprivileged pod metrics get: err = %v, want Forbidden", err)
		}
		// view aggregates system:aggregated-metrics-reader.
		_, err := client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "viewer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "metrics-viewer"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		viewer := as("metrics-viewer").MetricsV1beta1()
		// The authorizer sees the binding once its informer has it.
		var list *metricsv1beta1.PodMetricsList
		err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var err error
			list, err = viewer.PodMetricses(ns).List(ctx, metav1.ListOptions{})
			if apierrors.IsForbidden(err) {
				return false, nil
			}
			return true, err
		})
		if err != nil || len(list.Items) != 2 {
			t.Errorf("namespace viewer pod metrics: %+v, %v", list, err)
		}
		if _, err := viewer.NodeMetricses().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("namespace viewer node metrics: err = %v, want Forbidden", err)
		}
	})

	t.Run("kubectl", func(t *testing.T) {
		const kubectlPath = "/usr/bin/kubectl"
		if _, err := os.Stat(kubectlPath); err != nil {
			t.Skipf("no %s", kubectlPath)
		}
		kubectl := func(args ...string) string {
			t.Helper()
			cmd := exec.Command(kubectlPath, append([]string{"--kubeconfig", ts.KubeconfigPath}, args...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return string(out)
		}
		raw := kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")
		var list struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
			Items      []struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Timestamp string            `json:"timestamp"`
				Window    string            `json:"window"`
				Usage     map[string]string `json:"usage"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			t.Fatalf("--raw nodes is not JSON: %v\n%s", err, raw)
		}
		if list.Kind != "NodeMetricsList" || list.APIVersion != "metrics.k8s.io/v1beta1" || len(list.Items) != 1 ||
			list.Items[0].Metadata.Name != node.Name || list.Items[0].Window != "1s" ||
			list.Items[0].Usage["cpu"] != "2" || list.Items[0].Usage["memory"] != "1Gi" || list.Items[0].Timestamp == "" {
			t.Errorf("--raw nodes = %s", raw)
		}

		// CPU(%) and MEMORY(%) are of the node's allocatable: 2 of 4 cores,
		// 1Gi of 8Gi.
		top := kubectl("top", "node")
		t.Logf("kubectl top node:\n%s", top)
		wantTable(t, top, [][]string{
			{"NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"},
			{node.Name, "2000m", "50%", "1024Mi", "12%"},
			{"metrics-node-notready", "<unknown>", "<unknown>", "<unknown>", "<unknown>"},
		})
		top = kubectl("top", "pod", "-A")
		t.Logf("kubectl top pod -A:\n%s", top)
		wantTable(t, top, [][]string{
			{"NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"},
			{ns, "db", "250m", "50Mi"},
			{ns, "web", "600m", "120Mi"},
		})
		wantTable(t, kubectl("top", "pod", "-n", ns, "web", "--containers"), [][]string{
			{"POD", "NAME", "CPU(cores)", "MEMORY(bytes)"},
			{"web", "app", "500m", "100Mi"},
			{"web", "sidecar", "100m", "20Mi"},
		})
		// metrics-server's table columns, a pod's usage summed.
		wantTable(t, kubectl("get", "nodes.metrics.k8s.io"), [][]string{
			{"NAME", "CPU", "MEMORY", "WINDOW"},
			{node.Name, "2", "1Gi", "1s"},
		})
		wantTable(t, kubectl("get", "podmetrics", "-n", ns, "web"), [][]string{
			{"NAME", "CPU", "MEMORY", "WINDOW"},
			{"web", "600m", "120Mi", "1s"},
		})
		// The OpenAPI documents describe the types.
		if out := kubectl("explain", "podmetrics.containers.usage"); !strings.Contains(out, "PodMetrics") || !strings.Contains(out, "memory working set") {
			t.Errorf("kubectl explain podmetrics.containers.usage:\n%s", out)
		}
	})
}

// createMetricsNode creates a node with 4 cores and 8Gi allocatable, Ready
// with k as its kubelet, or NotReady when k is nil.
func createMetricsNode(t *testing.T, client kubernetes.Interface, name string, k *metricsKubelet) *corev1.Node {
	t.Helper()
	ctx := context.Background()
	node, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	resources := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	node.Status.Capacity, node.Status.Allocatable = resources, resources
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady"}}
	if k != nil {
		host, port, _ := net.SplitHostPort(k.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		node.Status.Conditions[0] = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(p)
	}
	node, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status of node %s: %v", name, err)
	}
	return node
}

func wantQuantity(t *testing.T, what string, got resource.Quantity, want string) {
	t.Helper()
	if got.Cmp(resource.MustParse(want)) != 0 {
		t.Errorf("%s = %s, want %s", what, got.String(), want)
	}
}

// wantTable compares kubectl's table output, cell by cell.
func wantTable(t *testing.T, out string, want [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Errorf("output has %d lines, want %d:\n%s", len(lines), len(want), out)
		return
	}
	for i, line := range lines {
		if got := strings.Fields(line); strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Errorf("line %d = %q, want %q\n%s", i, got, want[i], out)
		}
	}
}
