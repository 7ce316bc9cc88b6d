// Package networking validates the networking.k8s.io/v1 kinds (Ingress,
// IngressClass, NetworkPolicy, ServiceCIDR and IPAddress) with upstream
// kube-apiserver's field paths, error types and messages. Defaulting is in
// apiserver/defaults; checks that need other objects (overlapping
// ServiceCIDRs, allocated IPs) belong in the registries.
package networking
