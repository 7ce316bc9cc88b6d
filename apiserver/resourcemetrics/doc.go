// Package resourcemetrics is Skiff's in-process metrics-server: it scrapes
// every Ready node's kubelet /metrics/resource on a fixed period, keeps the
// last two samples of each node and container, and computes the usage that
// metrics.k8s.io serves (CPU as the rate of the cumulative counter between
// the two samples, memory as the last working set), with metrics-server's
// rules for restarts and incomplete samples.
//
// It holds only those samples, in memory; it serves no API itself (see
// apiserver/registry/metrics) and is not a general Prometheus client.
package resourcemetrics
