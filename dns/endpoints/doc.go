// Package endpoints keeps the EndpointSlices of DNS servers that run on the
// nodes themselves rather than in pods, so that no EndpointSlice controller
// tracks them.
//
// Each server publishes one slice of its own, named <service>-<node> and
// labelled with the Service's name and managed-by skiff-dns, holding its
// address. Whether an endpoint is ready follows the rule the node lifecycle
// and EndpointSlice controllers apply to pods: it is ready while its
// server serves and its Node is Ready. Every running server applies that
// rule to every such slice, so one whose node died (and cannot say so
// itself) is marked not ready by the others once its Node turns NotReady;
// all servers compute the same answer from the same API state. A server that
// stops cleanly deletes its slice.
package endpoints
