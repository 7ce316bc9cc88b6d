// Package kubernetesservice keeps the objects through which pods find the
// API servers, as kube-apiserver's bootstrap controller and its "lease"
// endpoint reconciler do: the default ServiceCIDR "kubernetes" (the
// cluster's --service-cluster-ip-range), the Service default/kubernetes on
// the range's first IP, and its Endpoints and EndpointSlice listing every
// live API server.
//
// Each API server records itself in a coordination.k8s.io Lease in
// kube-system (see LeaseName), renewed every interval and valid for a TTL
// (15s, upstream's). Upstream keeps /masterleases/<ip> keys with an etcd
// TTL instead; Skiff uses Leases because the reconciler then needs only
// the loopback client — no second etcd client, storage codec or raw key
// layout — the records are visible and RBAC/audit-covered like any other
// object, and they work the same on embedded and external etcd. Expiry is
// judged by the reader: a Lease is live while it changes within its TTL as
// this server observes it (renewTime is trusted only on first sight, so
// clock skew between servers cannot keep a dead one or drop a live one for
// long), and expired Leases are deleted. On graceful shutdown a server
// deletes its Lease and republishes the endpoints without itself.
package kubernetesservice
