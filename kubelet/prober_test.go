package kubelet

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/kubelet/podworkers"
	"github.com/skiff-dev/skiff/kubelet/status"
)

// scriptedProber stands in for kubelet/prober at the podworkers hook point:
// every container is started and ready, liveness failures are pushed by
// the test, and hooks are recorded rather than run.
type scriptedProber struct {
	updates chan podworkers.ProbeUpdate
	mu      sync.Mutex
	hooks   []string // "<pod>/<container>:<preStop|postStart>"
}

var testProber = &scriptedProber{updates: make(chan podworkers.ProbeUpdate, 16)}

func (p *scriptedProber) AddPod(*corev1.Pod)                     {}
func (p *scriptedProber) RemovePod(types.UID)                    {}
func (p *scriptedProber) Ready(types.UID, string, string) bool   { return true }
func (p *scriptedProber) Started(types.UID, string, string) bool { return true }
func (p *scriptedProber) Updates() <-chan podworkers.ProbeUpdate { return p.updates }
func (p *scriptedProber) RunHandler(_ context.Context, pod *corev1.Pod, c *corev1.Container, _ string, h *corev1.LifecycleHandler) (string, error) {
	kind := "postStart"
	if c.Lifecycle != nil && h == c.Lifecycle.PreStop {
		kind = "preStop"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks = append(p.hooks, pod.Name+"/"+c.Name+":"+kind)
	return "", nil
}

func (p *scriptedProber) ran(hook string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hooks {
		if h == hook {
			return true
		}
	}
	return false
}

func TestLivenessFailureRestartsContainer(t *testing.T) {
	requireNode(t)
	pod := createPod(t, newPod("live", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait"))
	p := waitPod(t, pod, 60*time.Second, "Running", running)
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, status.ContainerIDPrefix)
	testProber.updates <- podworkers.ProbeUpdate{PodUID: pod.UID, Container: "c0", ContainerID: id, Kind: podworkers.ProbeLiveness, Success: false}
	p = waitPod(t, pod, 60*time.Second, "restarted after liveness failure", func(p *corev1.Pod) bool {
		return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	})
	if cs := p.Status.ContainerStatuses[0]; cs.ContainerID == status.ContainerIDPrefix+id || cs.LastTerminationState.Terminated == nil {
		t.Errorf("container after restart = %+v", cs)
	}
	waitEvent(t, pod, "Killing", "Container c0 failed liveness probe, will be restarted")
}

func TestSidecarAndHooks(t *testing.T) {
	requireNode(t)
	always := corev1.ContainerRestartPolicyAlways
	pod := newPod("side", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait")
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "sidecar", Image: testImage, RestartPolicy: &always, Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"}},
		{Name: "after", Image: testImage, Command: []string{"true"}},
	}
	hook := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: hook, PreStop: hook.DeepCopy()}
	pod = createPod(t, pod)
	p := waitPod(t, pod, 60*time.Second, "Running", running)
	side, after, app := p.Status.InitContainerStatuses[0], p.Status.InitContainerStatuses[1], p.Status.ContainerStatuses[0]
	if side.State.Running == nil || !side.Ready || side.Started == nil || !*side.Started {
		t.Errorf("sidecar status = %+v", side)
	}
	if after.State.Terminated == nil || after.State.Terminated.ExitCode != 0 {
		t.Errorf("init container after the sidecar = %+v", after)
	}
	if side.State.Running.StartedAt.After(app.State.Running.StartedAt.Time) {
		t.Errorf("sidecar started %s, after the app container (%s)", side.State.Running.StartedAt, app.State.Running.StartedAt)
	}
	if !testProber.ran(pod.Name + "/c0:postStart") {
		t.Error("postStart hook not run")
	}
	if err := admin.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !testProber.ran(pod.Name + "/c0:preStop") {
		if time.Now().After(deadline) {
			t.Fatal("preStop hook not run on deletion")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
