// Package tables holds the proxy's desired state as plain Go tables:
// services with their frontends (address:port/protocol → service port) and
// backends (endpoint address:port, node, zone, conditions) grouped by the
// source that reported them (an EndpointSlice). Data sources write it with
// UpsertService, UpsertBackends and their Delete counterparts; the
// reconciler reads what changed through a ChangeTracker (every service's
// units are kept computed, a write recomputing only the services it
// touches) or a whole Desired snapshot. It knows nothing of BPF maps
// or Kubernetes API types, and does no I/O.
package tables
