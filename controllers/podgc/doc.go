// Package podgc is the pod garbage collector ("podgc"): it force-deletes
// terminated pods beyond the --terminated-pod-gc-threshold (evicted first,
// then oldest), pods bound to nodes that no longer exist (after a quarantine
// and a live check against the API server), terminating pods that were never
// scheduled, and terminating pods on not-ready nodes tainted out-of-service.
// Pods not yet terminal are first moved to phase Failed (orphans with a
// DisruptionTarget condition, reason DeletionByPodGC), as upstream does.
package podgc
