// Package namespace declares the namespaces resource: its generic storage
// plus what is namespace-specific — the kubernetes finalizer on create, the
// two-phase delete (Terminating first, removal once spec.finalizers is
// empty) and the /finalize subresource. Removing a namespace's contents is
// the namespace controller's job, not the API server's.
package namespace
