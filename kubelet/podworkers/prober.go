package podworkers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Probe kinds of a ProbeUpdate.
const (
	ProbeLiveness  = "liveness"
	ProbeReadiness = "readiness"
	ProbeStartup   = "startup"
)

// ProbeUpdate is a change of a probe's result. The prober package declares
// its Update as an alias of this type (type Update = podworkers.ProbeUpdate).
type ProbeUpdate struct {
	PodUID      types.UID
	Container   string
	ContainerID string
	Kind        string // ProbeLiveness, ProbeReadiness or ProbeStartup
	Success     bool
}

// Prober runs a pod's probes and lifecycle hooks. A nil Prober means no
// probes (running containers are started and ready) and no hooks.
type Prober interface {
	// AddPod starts probing a pod's containers; the workers call it on every
	// sync of a running pod, so it must be idempotent (and may pick up a
	// changed spec). RemovePod stops probing once the pod is stopped.
	AddPod(pod *corev1.Pod)
	RemovePod(uid types.UID)
	// Ready and Started report the current results for a container
	// instance (true when it has no such probe).
	Ready(uid types.UID, container string, containerID string) bool
	Started(uid types.UID, container string, containerID string) bool
	// Updates delivers result changes: a failed liveness probe restarts
	// the container, readiness and startup changes resync the pod.
	Updates() <-chan ProbeUpdate
	// RunHandler runs a postStart or preStop hook in or against the
	// container and returns its output message.
	RunHandler(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string, h *corev1.LifecycleHandler) (msg string, err error)
}

// ContainerObserver is implemented by probers that need the runtime's view
// of containers (which instance runs, since when) to time their probes: the
// workers report every container's latest instance on each sync.
type ContainerObserver interface {
	UpdateContainer(uid types.UID, container, containerID string, startedAt time.Time, running bool)
}
