// Package node validates node.k8s.io/v1 RuntimeClasses with upstream
// kube-apiserver's field paths, error types and messages: the handler, the
// pod overhead (checked as container resource limits, so errors read
// "overhead.limits[...]") and the scheduling constraints.
package node
