// Package kubelet is the root of Skiff's node agent, which runs the pods bound
// to its node on containerd and reports node and pod status to the API server.
// kubelet.go wires the parts (nodestatus, runtime, network, podworkers,
// status) behind Config → New → Start; the parts live in the subpackages.
package kubelet
