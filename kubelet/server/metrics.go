package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// serverMetrics are the kubelet's own metrics, served on /metrics, named
// as upstream's.
type serverMetrics struct {
	registry          *prometheus.Registry
	requests          *prometheus.CounterVec
	inflight          *prometheus.GaugeVec
	duration          *prometheus.HistogramVec
	streamingRequests *prometheus.CounterVec
}

func newServerMetrics(s *Server) *serverMetrics {
	m := &serverMetrics{registry: prometheus.NewRegistry()}
	labels := []string{"method", "path", "server_type", "long_running"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: "kubelet", Name: "http_requests_total",
		Help: "Number of the http requests received since the server started",
	}, labels)
	m.inflight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: "kubelet", Name: "http_inflight_requests",
		Help: "Number of the inflight http requests",
	}, labels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: "kubelet", Name: "http_requests_duration_seconds",
		Help:    "Duration in seconds to serve http requests",
		Buckets: prometheus.DefBuckets,
	}, labels)
	m.streamingRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: "kubelet", Name: "streaming_requests_total",
		Help: "Number of exec, attach and port-forward requests by protocol family",
	}, []string{"kind", "protocol"})
	m.registry.MustRegister(m.requests, m.inflight, m.duration, m.streamingRequests,
		&runningCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *serverMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// instrument counts and times every request by method and root path.
func (m *serverMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == "" {
			method = http.MethodGet
		}
		lv := []string{method, rootPath(r.URL.Path), "readwrite", strconv.FormatBool(isLongRunning(r.URL.Path))}
		m.requests.WithLabelValues(lv...).Inc()
		g := m.inflight.WithLabelValues(lv...)
		g.Inc()
		start := time.Now()
		defer func() {
			g.Dec()
			m.duration.WithLabelValues(lv...).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(w, r)
	})
}

// runningCollector reports kubelet_running_pods and
// kubelet_running_containers from the runtime at scrape time.
type runningCollector struct{ s *Server }

var (
	runningPodsDesc = prometheus.NewDesc("kubelet_running_pods",
		"Number of pods that have a running pod sandbox", nil, nil)
	runningContainersDesc = prometheus.NewDesc("kubelet_running_containers",
		"Number of containers currently running", []string{"container_state"}, nil)
)

func (c *runningCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runningPodsDesc
	ch <- runningContainersDesc
}

func (c *runningCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods := 0
	states := map[string]int{"running": 0, "exited": 0, "created": 0}
	for _, pod := range c.s.cfg.Pods.GetPods() {
		if sb, err := c.s.cfg.Runtime.GetPodSandbox(ctx, pod.UID); err == nil && sb.PID != 0 {
			pods++
		}
		cs, err := c.s.cfg.Runtime.ListPodContainers(ctx, pod.UID)
		if err != nil {
			continue
		}
		for _, st := range cs {
			switch st.State {
			case runtime.ContainerRunning:
				states["running"]++
			case runtime.ContainerExited:
				states["exited"]++
			default:
				states["created"]++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(runningPodsDesc, prometheus.GaugeValue, float64(pods))
	for state, n := range states {
		ch <- prometheus.MustNewConstMetric(runningContainersDesc, prometheus.GaugeValue, float64(n), state)
	}
}

// Resource metrics, as upstream's /metrics/resource names them.
var (
	nodeCPUDesc = prometheus.NewDesc("node_cpu_usage_seconds_total",
		"Cumulative cpu time consumed by the node in core-seconds", nil, nil)
	nodeMemDesc = prometheus.NewDesc("node_memory_working_set_bytes",
		"Current working set of the node in bytes", nil, nil)
	containerCPUDesc = prometheus.NewDesc("container_cpu_usage_seconds_total",
		"Cumulative cpu time consumed by the container in core-seconds", []string{"container", "pod", "namespace"}, nil)
	containerMemDesc = prometheus.NewDesc("container_memory_working_set_bytes",
		"Current working set of the container in bytes", []string{"container", "pod", "namespace"}, nil)
	containerStartDesc = prometheus.NewDesc("container_start_time_seconds",
		"Start time of the container since unix epoch in seconds", []string{"container", "pod", "namespace"}, nil)
	podCPUDesc = prometheus.NewDesc("pod_cpu_usage_seconds_total",
		"Cumulative cpu time consumed by the pod in core-seconds", []string{"pod", "namespace"}, nil)
	podMemDesc = prometheus.NewDesc("pod_memory_working_set_bytes",
		"Current working set of the pod in bytes", []string{"pod", "namespace"}, nil)
	scrapeErrorDesc = prometheus.NewDesc("scrape_error",
		"1 if there was an error while getting container metrics, 0 otherwise", nil, nil)
)

// resourceCollector turns a summary into the resource metrics.
type resourceCollector struct {
	ctx   context.Context
	stats *statsCollector
}

func (c *resourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{nodeCPUDesc, nodeMemDesc, containerCPUDesc, containerMemDesc, containerStartDesc, podCPUDesc, podMemDesc, scrapeErrorDesc} {
		ch <- d
	}
}

func (c *resourceCollector) Collect(ch chan<- prometheus.Metric) {
	sum, err := c.stats.summary(c.ctx)
	if err != nil {
		klog.FromContext(c.ctx).Error(err, "Collect resource metrics")
		ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 0)
	emitCPU := func(d *prometheus.Desc, cpu *statsapi.CPUStats, labels ...string) {
		if cpu != nil && cpu.UsageCoreNanoSeconds != nil {
			ch <- prometheus.NewMetricWithTimestamp(cpu.Time.Time,
				prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(*cpu.UsageCoreNanoSeconds)/float64(time.Second), labels...))
		}
	}
	emitMem := func(d *prometheus.Desc, mem *statsapi.MemoryStats, labels ...string) {
		if mem != nil && mem.WorkingSetBytes != nil {
			ch <- prometheus.NewMetricWithTimestamp(mem.Time.Time,
				prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(*mem.WorkingSetBytes), labels...))
		}
	}
	emitCPU(nodeCPUDesc, sum.Node.CPU)
	emitMem(nodeMemDesc, sum.Node.Memory)
	for _, p := range sum.Pods {
		emitCPU(podCPUDesc, p.CPU, p.PodRef.Name, p.PodRef.Namespace)
		emitMem(podMemDesc, p.Memory, p.PodRef.Name, p.PodRef.Namespace)
		for _, ct := range p.Containers {
			lv := []string{ct.Name, p.PodRef.Name, p.PodRef.Namespace}
			emitCPU(containerCPUDesc, ct.CPU, lv...)
			emitMem(containerMemDesc, ct.Memory, lv...)
			if !ct.StartTime.IsZero() {
				ch <- prometheus.NewMetricWithTimestamp(ct.StartTime.Time,
					prometheus.MustNewConstMetric(containerStartDesc, prometheus.GaugeValue, float64(ct.StartTime.UnixNano())/1e9, lv...))
			}
		}
	}
}

func (s *Server) getResourceMetrics(w http.ResponseWriter, r *http.Request) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&resourceCollector{ctx: r.Context(), stats: s.stats})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
