package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/kubelet/podworkers"
	"github.com/skiff-dev/skiff/kubelet/prober"
)

// probeAdapter lets the prober's Manager serve as the pod workers' Prober:
// the two packages do not import each other, so its updates are relayed
// into the workers' type.
type probeAdapter struct {
	m       *prober.Manager
	updates chan podworkers.ProbeUpdate
}

var (
	_ podworkers.Prober            = (*probeAdapter)(nil)
	_ podworkers.ContainerObserver = (*probeAdapter)(nil)
)

func newProbeAdapter(m *prober.Manager) *probeAdapter {
	a := &probeAdapter{m: m, updates: make(chan podworkers.ProbeUpdate, prober.DefaultUpdateBuffer)}
	go func() {
		defer close(a.updates)
		for u := range m.Updates() {
			a.updates <- podworkers.ProbeUpdate{PodUID: u.PodUID, Container: u.Container, ContainerID: u.ContainerID, Kind: u.Kind, Success: u.Success}
		}
	}()
	return a
}

func (a *probeAdapter) AddPod(pod *corev1.Pod)  { a.m.AddPod(pod) }
func (a *probeAdapter) RemovePod(uid types.UID) { a.m.RemovePod(uid) }
func (a *probeAdapter) Ready(uid types.UID, container, containerID string) bool {
	return a.m.Ready(uid, container, containerID)
}
func (a *probeAdapter) Started(uid types.UID, container, containerID string) bool {
	return a.m.Started(uid, container, containerID)
}
func (a *probeAdapter) Updates() <-chan podworkers.ProbeUpdate { return a.updates }
func (a *probeAdapter) RunHandler(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string, h *corev1.LifecycleHandler) (string, error) {
	return a.m.RunHandler(ctx, pod, c, containerID, h)
}
func (a *probeAdapter) UpdateContainer(uid types.UID, container, containerID string, startedAt time.Time, running bool) {
	a.m.UpdateContainer(uid, container, containerID, startedAt, running)
}
