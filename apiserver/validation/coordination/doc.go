// Package coordination validates coordination.k8s.io/v1 Leases with
// upstream kube-apiserver's field paths, error types and messages. The
// feature-gated clearing of strategy fields belongs in the strategy.
package coordination
