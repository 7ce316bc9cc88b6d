// Package namespace is the namespace controller: when a namespace is being
// deleted it marks it Terminating, deletes every namespaced object of every
// served resource in it (custom resources included), reports progress in the
// namespace's deletion conditions as kube-controller-manager does, waits
// until nothing remains, and then removes the "kubernetes" finalizer through
// the namespaces/finalize subresource so the API server can remove the
// namespace.
package namespace
