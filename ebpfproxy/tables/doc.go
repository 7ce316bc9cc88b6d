// Package tables holds the proxy's desired state as plain Go tables:
// services with their frontends (address:port/protocol → service port) and
// backends (endpoint address:port, node, zone, conditions) grouped by the
// source that reported them (an EndpointSlice). Data sources write it with
// UpsertService, UpsertBackends and their Delete counterparts; the
// reconciler reads a computed Desired snapshot. It knows nothing of BPF maps
// or Kubernetes API types, and does no I/O.
package tables
