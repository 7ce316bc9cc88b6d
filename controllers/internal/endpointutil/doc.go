// Package endpointutil holds what the endpoints, EndpointSlice and
// EndpointSlice mirroring controllers share: which pods back a Service,
// per-pod resolution of named target ports, hostnames, the
// last-change-trigger-time tracker and the pod-to-Service event mapping.
package endpointutil
