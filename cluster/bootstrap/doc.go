// Package bootstrap prepares a running control plane for nodes to join it
// with a bootstrap token (`skiff join`): the RBAC bindings kubeadm creates
// for TLS bootstrapping, and the one that lets a joined node's credentials
// run its Service proxy. It does not create tokens (internal/bootstraptoken)
// nor the cluster-info ConfigMap (the API server publishes it).
package bootstrap
