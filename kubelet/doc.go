// Package kubelet is the root of Skiff's node agent, which runs the pods bound
// to its node on containerd and reports node and pod status to the API server.
package kubelet
