// Package service declares the services resource: generic storage plus
// what is service-specific — ClusterIP allocation recorded as
// networking.k8s.io IPAddress objects (one object per IP, created
// atomically, so no IP is handed out twice), NodePort allocation recorded
// in a RangeAllocation bitmap at kube-apiserver's etcd key
// (/registry/ranges/servicenodeports, updated by compare-and-swap), the
// IP family defaults that depend on the cluster's ranges, and release of
// both on delete or when an update no longer needs them.
package service
