// Package runtime runs pods on containerd through its Go client: it supervises
// a Skiff-owned containerd (or uses a given one), stores and pulls images,
// creates pod sandboxes (network namespace plus a container holding the pod's
// namespaces), and creates, starts, stops and reports the pod's containers
// from their corev1 specs. It keeps no state of its own beyond containerd and
// the data dir: containers carry labels naming their pod and container, so a
// restarted kubelet finds them again. A pod's sandbox and containers share one
// runc shim (grouped by the sandbox ID, as containerd's CRI plugin does).
// Container stdio: by default the shim
// hands output to Skiff's CRI log writer (no kubelet in the path); a
// container with stdin or tty gets FIFOs (and a terminal) held by the
// Runtime, which copies output to the log and to attached streams and feeds
// stdin from attaches, as containerd's CRI plugin does; a restarted kubelet
// reopens them. Deciding what should run (restarts,
// backoff, probes, API status) is the pod workers' job, not this package's.
package runtime
