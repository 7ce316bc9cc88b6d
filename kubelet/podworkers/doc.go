// Package podworkers runs the pods bound to the node: one goroutine per pod
// converges, level based, the pod the API server wants (sandbox, image
// pulls, volumes, init containers, sidecars, app containers, restarts with
// CrashLoopBackOff, graceful termination) onto what the container runtime
// has, and reports the result through the status manager and events.
// It does not watch the API itself: the kubelet feeds it pods from its
// informer. Probes and lifecycle hooks come from a Prober (may be nil).
package podworkers
