package proxy

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// DefaultMetricsBindAddress is kube-proxy's --metrics-bind-address.
const DefaultMetricsBindAddress = "127.0.0.1:10249"

// counter is one load-balancing unit's datapath counters, as the metrics
// collector needs them.
type counter struct {
	key                 tables.LBKey
	translated, refused uint64
}

// metrics are the proxy's Prometheus metrics, on a registry of its own.
// Sync metrics keep kube-proxy's names, so its dashboards work.
type metrics struct {
	reg           *prometheus.Registry
	syncDuration  prometheus.Histogram
	lastSync      prometheus.Gauge
	syncErrors    prometheus.Counter
	services      prometheus.Gauge
	backends      prometheus.Gauge
	connectionsFn func() ([]counter, error)
}

var (
	connectionsDesc = prometheus.NewDesc("skiff_proxy_service_connections_total",
		"Connections (sockets, and flows from other hosts) the datapath sent to a backend, per Service port, read from the per-CPU stats map.",
		[]string{"namespace", "service", "port", "protocol", "family", "scope"}, nil)
	refusedDesc = prometheus.NewDesc("skiff_proxy_service_refused_total",
		"Connections the datapath refused (or, from other hosts, dropped) because the Service port had no usable backend.",
		[]string{"namespace", "service", "port", "protocol", "family", "scope"}, nil)
	counterErrorsDesc = prometheus.NewDesc("skiff_proxy_stats_read_errors",
		"1 if the last read of the per-CPU stats map failed.", nil, nil)
)

func newMetrics(connections func() ([]counter, error)) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubeproxy_sync_proxy_rules_duration_seconds",
			Help:    "How long a sync of the BPF maps from the desired state took (diff and map writes).",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18), // 50µs .. ~6.5s
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
			Help: "When the BPF maps were last synced successfully (unix seconds).",
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skiff_proxy_sync_errors_total",
			Help: "Syncs of the BPF maps that failed (and were retried).",
		}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_proxy_programmed_services",
			Help: "Load-balancing units (Service port, family and scope) programmed in the BPF maps.",
		}),
		backends: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_proxy_programmed_backends",
			Help: "Distinct backend addresses programmed in the BPF maps.",
		}),
		connectionsFn: connections,
	}
	m.reg.MustRegister(m.syncDuration, m.lastSync, m.syncErrors, m.services, m.backends, m,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeSync records one sync.
func (m *metrics) observeSync(d time.Duration, services, backends int, err error) {
	if err != nil {
		m.syncErrors.Inc()
		return
	}
	m.syncDuration.Observe(d.Seconds())
	m.lastSync.SetToCurrentTime()
	m.services.Set(float64(services))
	m.backends.Set(float64(backends))
}

// Describe and Collect make the per-service counters a collector read at
// scrape time.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- connectionsDesc
	ch <- refusedDesc
	ch <- counterErrorsDesc
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	cs, err := m.connectionsFn()
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(counterErrorsDesc, prometheus.GaugeValue, failed)
	for _, c := range cs {
		fam := "IPv4"
		if c.key.Family == tables.IPv6 {
			fam = "IPv6"
		}
		labels := []string{c.key.Service.Namespace, c.key.Service.Name, c.key.Port, c.key.Protocol.String(), fam, c.key.Scope.String()}
		ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.CounterValue, float64(c.translated), labels...)
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(c.refused), labels...)
	}
}

func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}
