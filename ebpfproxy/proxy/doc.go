// Package proxy assembles `skiff proxy`: it connects to the API server,
// feeds Service and EndpointSlice informers (datasource) into the
// desired-state tables, and lets the reconciler program the pinned BPF maps
// from them once the informers have synced, so a restarted proxy reconciles
// what it adopted instead of emptying it first. It serves /healthz and
// /livez with kube-proxy's meaning (unhealthy before the first sync and
// when a change has waited longer than the health timeout), Prometheus
// /metrics (sync duration histogram, programmed services and backends,
// per-service connection counters read from the per-CPU stats map), the
// healthCheckNodePorts of externalTrafficPolicy: Local Services with
// kube-proxy's responses, and WriteStatus (`skiff proxy status`), which
// reads the pinned maps while no proxy runs. It holds no datapath logic.
package proxy
