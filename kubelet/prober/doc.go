// Package prober runs a pod's container probes (liveness, readiness and
// startup: exec, httpGet, tcpSocket and grpc) and its lifecycle hooks
// (postStart and preStop: exec, httpGet and sleep) with the semantics of the
// upstream kubelet: delays, periods with first-run jitter, timeouts,
// thresholds, startup gating, Unhealthy events and upstream's messages.
//
// It decides nothing about the pod: it keeps one worker per container probe,
// records results per container ID, and reports changes on Updates. Acting on
// them (restarting a container whose liveness probe failed, writing Ready to
// the API) is the pod workers' job. Runtime state reaches it through
// UpdateContainer and AddPod, and commands run through the Execer interface,
// so the package depends on neither the pod workers nor the runtime.
package prober
