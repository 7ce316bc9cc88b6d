// Package apibalancer is the host address of a `skiff up` cluster with
// several control-plane nodes: a small TCP proxy that accepts connections
// on one address and splices each to an API server whose /readyz answers,
// as a kube-vip or haproxy in front of kubeadm's control plane would. It
// passes TLS through untouched (clients authenticate to the API servers
// themselves); it is not an HTTP proxy and knows nothing of Kubernetes
// beyond the health check.
package apibalancer
