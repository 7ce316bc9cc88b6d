// Package pod declares the pods resource: generic storage plus what is
// pod-specific — the initial Pending status and QoS class, graceful deletion
// with the pod's termination grace period, the spec.nodeName index that
// kubelets watch through, and the subresources binding (how the scheduler
// assigns a node), ephemeralcontainers and resize (the only ways to change
// those parts of a running pod's spec).
package pod
