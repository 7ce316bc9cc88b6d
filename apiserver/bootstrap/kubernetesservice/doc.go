// Package kubernetesservice keeps the objects through which pods find the
// API server, as kube-apiserver's bootstrap controller does: the default
// ServiceCIDR "kubernetes" (the cluster's --service-cluster-ip-range), the
// Service default/kubernetes on the range's first IP, and its Endpoints and
// EndpointSlice pointing at this server's advertised address and port.
package kubernetesservice
