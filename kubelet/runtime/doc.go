// Package runtime runs pods on containerd through its Go client: it supervises
// a Skiff-owned containerd (or uses a given one), stores and pulls images,
// creates pod sandboxes (network namespace plus a container holding the pod's
// namespaces), and creates, starts, stops and reports the pod's containers
// from their corev1 specs. It keeps no state of its own beyond containerd and
// the data dir: containers carry labels naming their pod and container, so a
// restarted kubelet finds them again. Deciding what should run (restarts,
// backoff, probes, API status) is the pod workers' job, not this package's.
package runtime
