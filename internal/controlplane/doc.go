// Package controlplane runs a whole control plane in one process, as
// `skiff server` does: the API server, then the controller manager and the
// scheduler, which talk to it only through the API with credentials of
// their own, as separate processes would.
package controlplane
