// Package dns is Skiff's cluster DNS server: it answers the Kubernetes DNS
// schema (https://github.com/kubernetes/dns/blob/master/docs/specification.md)
// for the cluster domain from Service, EndpointSlice and Namespace informers,
// in the manner of CoreDNS's kubernetes plugin ("pods insecure" mode), and
// forwards every other name to upstream resolvers.
//
// It serves UDP and TCP on one address, a liveness/readiness endpoint and
// Prometheus metrics. It is not a general DNS server: it has no zone files,
// no caching of forwarded answers, no DNSSEC and no zone transfers.
package dns
