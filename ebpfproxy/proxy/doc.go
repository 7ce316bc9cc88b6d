// Package proxy assembles `skiff proxy`: it connects to the API server,
// feeds Service and EndpointSlice informers (datasource) into the
// desired-state tables, and lets the reconciler program the pinned BPF maps
// from them once the informers have synced, so a restarted proxy reconciles
// what it adopted instead of emptying it first. It serves /healthz and
// /livez with kube-proxy's meaning. It holds no datapath logic itself.
package proxy
