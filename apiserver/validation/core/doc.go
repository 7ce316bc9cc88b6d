// Package core validates the core/v1 kinds of the API server's foundation:
// Namespace, ConfigMap, Secret, ServiceAccount and Event, with upstream
// kube-apiserver's field paths, error types and messages. Defaulting is in
// apiserver/defaults; checks that need the request or stored state belong
// in the resources' strategies.
package core
