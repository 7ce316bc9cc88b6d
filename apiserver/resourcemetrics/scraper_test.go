package resourcemetrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
)

// kubelet is a fake kubelet serving /metrics/resource over TLS from what
// the test last set.
type kubelet struct {
	*httptest.Server
	mu    sync.Mutex
	text  string
	paths []string
}

func newKubelet(t *testing.T) *kubelet {
	k := &kubelet{}
	k.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.paths = append(k.paths, r.URL.Path)
		if k.text == "" {
			http.Error(w, "stats not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, k.text)
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *kubelet) set(text string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.text = text
}

// node returns a Ready node whose kubelet is k.
func (k *kubelet) node(name string) *corev1.Node {
	host, port, _ := net.SplitHostPort(k.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"zone": "a"}},
		Status: corev1.NodeStatus{
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
		},
	}
}

// container is one container's sample: ref is "namespace/pod/container",
// cpu in seconds, memory in bytes.
type container struct {
	ref    string
	cpu    float64
	memory float64
	start  time.Time
}

// metricsText renders a kubelet's resource metrics: the node's CPU seconds
// and memory and the containers' samples, all stamped ms.
func metricsText(ms int64, nodeCPU, nodeMem float64, containers ...container) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total %g %d\n", nodeCPU, ms)
	fmt.Fprintf(&b, "# TYPE node_memory_working_set_bytes gauge\nnode_memory_working_set_bytes %g %d\n", nodeMem, ms)
	for _, c := range containers {
		parts := strings.Split(c.ref, "/")
		l := fmt.Sprintf(`{container=%q,namespace=%q,pod=%q}`, parts[2], parts[0], parts[1])
		fmt.Fprintf(&b, "container_cpu_usage_seconds_total%s %g %d\n", l, c.cpu, ms)
		fmt.Fprintf(&b, "container_memory_working_set_bytes%s %g %d\n", l, c.memory, ms)
		if !c.start.IsZero() {
			fmt.Fprintf(&b, "container_start_time_seconds%s %g %d\n", l, float64(c.start.UnixNano())/1e9, c.start.UnixMilli())
		}
	}
	return b.String()
}

func newScraper(t *testing.T, resolution time.Duration, nodes ...*corev1.Node) (*Scraper, cache.Indexer) {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range nodes {
		if err := indexer.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Config{
		Nodes:      corelisters.NewNodeLister(indexer),
		Kubelets:   kubeletproxy.NewClient(kubeletproxy.Config{}),
		Resolution: resolution,
		Clock:      clocktesting.NewFakePassiveClock(time.Unix(1800000000, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, indexer
}

func pod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}}, Spec: corev1.PodSpec{NodeName: node}}
}

func TestScrapeNodeAndPodMetrics(t *testing.T) {
	ctx := context.Background()
	k := newKubelet(t)
	s, _ := newScraper(t, 15*time.Second, k.node("n1"))
	t0 := time.UnixMilli(1700000000000)
	start := t0.Add(-time.Hour)
	web := pod("default", "web", "n1")

	k.set(metricsText(t0.UnixMilli(), 100, 1<<30,
		container{ref: "default/web/app", cpu: 10, memory: 100 << 20, start: start},
		container{ref: "default/web/sidecar", cpu: 1, memory: 10 << 20, start: start}))
	s.Scrape(ctx)
	if m, ok := s.NodeMetrics(k.node("n1")); ok {
		t.Fatalf("node metrics after one sample: %+v", m)
	}
	if m, ok := s.PodMetrics(web); ok {
		t.Fatalf("pod metrics after one sample: %+v", m)
	}

	// 2 s later the node used 3 core-seconds (1.5 cores), app 1 (500m),
	// sidecar 0.1 (50m).
	t1 := t0.Add(2 * time.Second)
	k.set(metricsText(t1.UnixMilli(), 103, 2<<30,
		container{ref: "default/web/app", cpu: 11, memory: 120 << 20, start: start},
		container{ref: "default/web/sidecar", cpu: 1.1, memory: 12 << 20, start: start}))
	s.Scrape(ctx)

	nm, ok := s.NodeMetrics(k.node("n1"))
	if !ok {
		t.Fatal("no node metrics after two samples")
	}
	if nm.Name != "n1" || nm.Labels["zone"] != "a" || !nm.Timestamp.Time.Equal(t1) || nm.Window.Duration != 2*time.Second {
		t.Errorf("node metrics meta = %+v, timestamp %s, window %s", nm.ObjectMeta, nm.Timestamp, nm.Window)
	}
	if !nm.CreationTimestamp.Time.Equal(time.Unix(1800000000, 0)) {
		t.Errorf("creationTimestamp = %s, want the clock's now", nm.CreationTimestamp)
	}
	assertUsage(t, "node", nm.Usage, "1500m", "2Gi")

	pm, ok := s.PodMetrics(web)
	if !ok {
		t.Fatal("no pod metrics after two samples")
	}
	if pm.Namespace != "default" || pm.Name != "web" || pm.Labels["app"] != "web" || !pm.Timestamp.Time.Equal(t1) || pm.Window.Duration != 2*time.Second {
		t.Errorf("pod metrics meta = %+v, timestamp %s, window %s", pm.ObjectMeta, pm.Timestamp, pm.Window)
	}
	if len(pm.Containers) != 2 || pm.Containers[0].Name != "app" || pm.Containers[1].Name != "sidecar" {
		t.Fatalf("containers = %+v", pm.Containers)
	}
	assertUsage(t, "app", pm.Containers[0].Usage, "500m", "120Mi")
	assertUsage(t, "sidecar", pm.Containers[1].Usage, "50m", "12Mi")

	// A pod on another node, or unknown to the kubelet, has none.
	if _, ok := s.PodMetrics(pod("default", "web", "n2")); ok {
		t.Error("metrics for a pod on a node not scraped")
	}
	if _, ok := s.PodMetrics(pod("default", "db", "n1")); ok {
		t.Error("metrics for a pod the kubelet does not report")
	}
	if got := k.paths[0]; got != ResourcePath {
		t.Errorf("kubelet saw %q, want %q", got, ResourcePath)
	}
}

func assertUsage(t *testing.T, what string, usage corev1.ResourceList, cpu, memory string) {
	t.Helper()
	wantCPU, wantMem := resource.MustParse(cpu), resource.MustParse(memory)
	if got := usage[corev1.ResourceCPU]; got.Cmp(wantCPU) != 0 {
		t.Errorf("%s cpu = %s, want %s", what, got.String(), cpu)
	}
	if got := usage[corev1.ResourceMemory]; got.Cmp(wantMem) != 0 {
		t.Errorf("%s memory = %s, want %s", what, got.String(), memory)
	}
}

func TestScrapeRules(t *testing.T) {
	t0 := time.UnixMilli(1700000000000)
	old := t0.Add(-time.Hour)
	type scrape struct {
		at         time.Time
		nodeCPU    float64
		containers []container
		down       bool
	}
	tests := []struct {
		name       string
		resolution time.Duration
		scrapes    []scrape
		wantNode   bool
		wantPod    bool
		wantWindow time.Duration
		wantCPU    string
	}{
		{
			name: "steady",
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 1, memory: 1, start: old}}},
				{at: t0.Add(time.Second), nodeCPU: 11, containers: []container{{ref: "ns/p/c", cpu: 1.25, memory: 1, start: old}}},
			},
			wantNode: true, wantPod: true, wantWindow: time.Second, wantCPU: "250m",
		},
		{
			name: "same timestamp twice keeps the earlier pair apart",
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 1, memory: 1, start: old}}},
				{at: t0.Add(time.Second), nodeCPU: 11, containers: []container{{ref: "ns/p/c", cpu: 2, memory: 1, start: old}}},
				{at: t0.Add(time.Second), nodeCPU: 11, containers: []container{{ref: "ns/p/c", cpu: 2, memory: 1, start: old}}},
			},
			wantNode: true, wantPod: true, wantWindow: time.Second, wantCPU: "1",
		},
		{
			name: "container restarted after the stored sample starts over",
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 5, memory: 1, start: old}}},
				{at: t0.Add(2 * time.Second), nodeCPU: 11, containers: []container{{ref: "ns/p/c", cpu: 0.5, memory: 1, start: t0.Add(time.Second)}}},
			},
			wantNode: true, wantPod: false,
		},
		{
			name:       "fresh container gets a zero point at its start",
			resolution: time.Minute,
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 6, memory: 1, start: t0.Add(-20 * time.Second)}}},
			},
			wantPod: true, wantWindow: 20 * time.Second, wantCPU: "300m",
		},
		{
			name:       "container younger than 10s waits for a second sample",
			resolution: time.Minute,
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 1, memory: 1, start: t0.Add(-5 * time.Second)}}},
			},
		},
		{
			name: "a new container hides the pod until it has two samples",
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 1, memory: 1, start: old}}},
				{at: t0.Add(time.Second), nodeCPU: 11, containers: []container{{ref: "ns/p/c", cpu: 2, memory: 1, start: old}, {ref: "ns/p/d", cpu: 1, memory: 1, start: old}}},
			},
			wantNode: true,
		},
		{
			name: "decreasing node counter gives no node metrics",
			scrapes: []scrape{
				{at: t0, nodeCPU: 10},
				{at: t0.Add(time.Second), nodeCPU: 9},
			},
		},
		{
			name: "a failed scrape forgets the node",
			scrapes: []scrape{
				{at: t0, nodeCPU: 10, containers: []container{{ref: "ns/p/c", cpu: 1, memory: 1, start: old}}},
				{down: true},
				{at: t0.Add(2 * time.Second), nodeCPU: 12, containers: []container{{ref: "ns/p/c", cpu: 2, memory: 1, start: old}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKubelet(t)
			resolution := tt.resolution
			if resolution == 0 {
				resolution = 15 * time.Second
			}
			s, _ := newScraper(t, resolution, k.node("n1"))
			for _, sc := range tt.scrapes {
				if sc.down {
					k.set("")
				} else {
					k.set(metricsText(sc.at.UnixMilli(), sc.nodeCPU, 1<<20, sc.containers...))
				}
				s.Scrape(ctx)
			}
			_, gotNode := s.NodeMetrics(k.node("n1"))
			if gotNode != tt.wantNode {
				t.Errorf("node metrics present = %v, want %v", gotNode, tt.wantNode)
			}
			pm, gotPod := s.PodMetrics(pod("ns", "p", "n1"))
			if gotPod != tt.wantPod {
				t.Fatalf("pod metrics present = %v (%+v), want %v", gotPod, pm, tt.wantPod)
			}
			if !gotPod {
				return
			}
			if pm.Window.Duration != tt.wantWindow {
				t.Errorf("window = %s, want %s", pm.Window.Duration, tt.wantWindow)
			}
			if got := pm.Containers[0].Usage[corev1.ResourceCPU]; got.Cmp(resource.MustParse(tt.wantCPU)) != 0 {
				t.Errorf("cpu = %s, want %s", got.String(), tt.wantCPU)
			}
		})
	}
}

func TestScrapeOnlyReadyNodes(t *testing.T) {
	ctx := context.Background()
	k := newKubelet(t)
	notReady := k.node("n1")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	s, _ := newScraper(t, 15*time.Second, notReady)
	k.set(metricsText(1700000000000, 1, 1))
	s.Scrape(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.paths) != 0 {
		t.Errorf("a NotReady node's kubelet was scraped: %v", k.paths)
	}
}

// TestStartScrapesPeriodically drives Start with a short resolution and
// waits, with a deadline, for the metrics that need two scrapes.
func TestStartScrapesPeriodically(t *testing.T) {
	k := newKubelet(t)
	var n int
	k.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		n++
		i := n
		k.mu.Unlock()
		fmt.Fprint(w, metricsText(1700000000000+int64(i)*1000, float64(i), 1<<20))
	})
	s, _ := newScraper(t, 20*time.Millisecond, k.node("n1"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go s.Start(ctx)
	var m metricsv1beta1.NodeMetrics
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		var ok bool
		m, ok = s.NodeMetrics(k.node("n1"))
		return ok, nil
	})
	if err != nil {
		t.Fatalf("no node metrics after starting the scraper: %v", err)
	}
	assertUsage(t, "node", m.Usage, "1", "1Mi")
}
