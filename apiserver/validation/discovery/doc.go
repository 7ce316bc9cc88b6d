// Package discovery validates discovery.k8s.io/v1 EndpointSlices with
// upstream kube-apiserver's field paths, error types and messages.
// Defaulting is in apiserver/defaults; dropping feature-gated fields
// belongs in the resource's strategy.
package discovery
