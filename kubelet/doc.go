// Package kubelet is the root of Skiff's node agent, which runs the pods bound
// to its node on containerd and reports node and pod status to the API server.
// kubelet.go wires the parts (certificate for the TLS bootstrap and
// rotations, nodestatus, runtime, network and its routes to other nodes'
// pods, podworkers, status, server) behind Config → New → Start; the parts
// live in the subpackages.
package kubelet
