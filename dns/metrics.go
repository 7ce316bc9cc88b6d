package dns

import (
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Server's Prometheus metrics, in a registry of its own.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	forwards *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "skiff", Subsystem: "dns", Name: "requests_total",
			Help: "DNS requests answered, by transport, question type and response code.",
		}, []string{"proto", "type", "rcode"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "skiff", Subsystem: "dns", Name: "request_duration_seconds",
			Help:    "Time to answer a DNS request, by transport and by who answered it (cluster or forward).",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16), // 250µs … ~8s
		}, []string{"proto", "source"}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "skiff", Subsystem: "dns", Name: "forward_requests_total",
			Help: "Exchanges with upstream resolvers, by upstream and response code (error when none came).",
		}, []string{"upstream", "rcode"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.forwards,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// typeLabel keeps the type label's values few: the usual types by name,
// the rest as "other".
func typeLabel(t uint16) string {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT, dns.TypeNS,
		dns.TypeSOA, dns.TypeMX, dns.TypeANY, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeAXFR, dns.TypeIXFR:
		return dns.TypeToString[t]
	}
	return "other"
}
