package status

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPod(policy corev1.RestartPolicy, inits []string, sidecars []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Generation: 3}}
	p.Spec.RestartPolicy = policy
	always := corev1.ContainerRestartPolicyAlways
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img"})
	}
	for _, n := range sidecars {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img", RestartPolicy: &always})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "img"})
	}
	return p
}

func running(name string, t runtime.ContainerType, restarts int) *runtime.ContainerStatus {
	return &runtime.ContainerStatus{ID: name + "-id", Name: name, Type: t, RestartCount: restarts, State: runtime.ContainerRunning,
		StartedAt: t0, CreatedAt: t0, ImageRef: "docker.io/library/img:1", ImageID: "sha256:abc"}
}

func exited(name string, t runtime.ContainerType, restarts int, code int32) *runtime.ContainerStatus {
	c := running(name, t, restarts)
	c.ID = name + "-id-" + string(rune('a'+restarts))
	c.State, c.ExitCode, c.FinishedAt = runtime.ContainerExited, code, t0.Add(time.Second)
	c.Reason = runtime.ReasonCompleted
	if code != 0 {
		c.Reason = runtime.ReasonError
	}
	return c
}

func cond(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestGenerate(t *testing.T) {
	reg, ini := runtime.ContainerTypeRegular, runtime.ContainerTypeInit
	tests := []struct {
		name       string
		pod        *corev1.Pod
		containers []*runtime.ContainerStatus
		waiting    map[string]Waiting
		terminal   bool
		ready      func(string, string) bool

		phase        corev1.PodPhase
		readyStatus  corev1.ConditionStatus
		readyReason  string
		readyMessage string
		initStatus   corev1.ConditionStatus
		initMessage  string
		appWaiting   string // waiting reason of the first app container
		appRestarts  int32
		lastExit     *int32
	}{
		{name: "nothing created yet", pod: testPod(corev1.RestartPolicyAlways, nil, nil, "app"),
			phase: corev1.PodPending, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady,
			readyMessage: "containers with unready status: [app]", initStatus: corev1.ConditionTrue, appWaiting: ReasonContainerCreating},
		{name: "init running", pod: testPod(corev1.RestartPolicyAlways, []string{"i1"}, nil, "app"),
			containers: []*runtime.ContainerStatus{running("i1", ini, 0)},
			phase:      corev1.PodPending, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady,
			initStatus: corev1.ConditionFalse, initMessage: "containers with incomplete status: [i1]", appWaiting: ReasonPodInitializing},
		{name: "running and ready", pod: testPod(corev1.RestartPolicyAlways, []string{"i1"}, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("i1", ini, 0, 0), running("app", reg, 0)},
			phase:      corev1.PodRunning, readyStatus: corev1.ConditionTrue, initStatus: corev1.ConditionTrue},
		{name: "running not ready", pod: testPod(corev1.RestartPolicyAlways, nil, nil, "app", "b"),
			containers: []*runtime.ContainerStatus{running("app", reg, 0), running("b", reg, 0)},
			ready:      func(n, _ string) bool { return n != "b" },
			phase:      corev1.PodRunning, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady,
			readyMessage: "containers with unready status: [b]", initStatus: corev1.ConditionTrue},
		{name: "crash loop", pod: testPod(corev1.RestartPolicyAlways, nil, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("app", reg, 2, 1), exited("app", reg, 3, 1)},
			waiting:    map[string]Waiting{"app": {Reason: ReasonCrashLoopBackOff, Message: "back-off 20s"}},
			phase:      corev1.PodRunning, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady,
			initStatus: corev1.ConditionTrue, appWaiting: ReasonCrashLoopBackOff, appRestarts: 3, lastExit: ptr(int32(1))},
		{name: "never, succeeded", pod: testPod(corev1.RestartPolicyNever, nil, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("app", reg, 0, 0)}, terminal: true,
			phase: corev1.PodSucceeded, readyStatus: corev1.ConditionFalse, readyReason: ReasonPodCompleted, initStatus: corev1.ConditionTrue},
		{name: "never, failed", pod: testPod(corev1.RestartPolicyNever, nil, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("app", reg, 0, 3)},
			phase:      corev1.PodFailed, readyStatus: corev1.ConditionFalse, readyReason: ReasonPodFailed, initStatus: corev1.ConditionTrue},
		{name: "init failed, never", pod: testPod(corev1.RestartPolicyNever, []string{"i1"}, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("i1", ini, 0, 1)},
			phase:      corev1.PodFailed, readyStatus: corev1.ConditionFalse, readyReason: ReasonPodFailed,
			initStatus: corev1.ConditionFalse, initMessage: "containers with incomplete status: [i1]", appWaiting: ReasonPodInitializing},
		{name: "onfailure, exited 1 restarting", pod: testPod(corev1.RestartPolicyOnFailure, nil, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("app", reg, 0, 1)},
			phase:      corev1.PodRunning, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady, initStatus: corev1.ConditionTrue},
		{name: "sidecar not started keeps pending", pod: testPod(corev1.RestartPolicyAlways, nil, []string{"sc"}, "app"),
			containers: []*runtime.ContainerStatus{running("sc", runtime.ContainerTypeSidecar, 0)},
			phase:      corev1.PodPending, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady,
			initStatus: corev1.ConditionTrue, appWaiting: ReasonContainerCreating},
		{name: "image pull failing", pod: testPod(corev1.RestartPolicyAlways, nil, nil, "app"),
			waiting: map[string]Waiting{"app": {Reason: ReasonImagePullBackOff, Message: `Back-off pulling image "img"`}},
			phase:   corev1.PodPending, readyStatus: corev1.ConditionFalse, readyReason: ReasonContainersNotReady,
			initStatus: corev1.ConditionTrue, appWaiting: ReasonImagePullBackOff},
		{name: "deleted and killed", pod: testPod(corev1.RestartPolicyAlways, nil, nil, "app"),
			containers: []*runtime.ContainerStatus{exited("app", reg, 0, 137)}, terminal: true,
			phase: corev1.PodFailed, readyStatus: corev1.ConditionFalse, readyReason: ReasonPodFailed, initStatus: corev1.ConditionTrue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Generate(Input{Pod: tc.pod, Containers: tc.containers, Waiting: tc.waiting, Terminal: tc.terminal,
				Ready: tc.ready, SandboxReady: true, PodIPs: []string{"10.0.0.5"}, HostIPs: []string{"192.0.2.1"}, Now: t0})
			if st.Phase != tc.phase {
				t.Errorf("phase = %s, want %s", st.Phase, tc.phase)
			}
			r := cond(st, corev1.PodReady)
			if r.Status != tc.readyStatus || r.Reason != tc.readyReason || (tc.readyMessage != "" && r.Message != tc.readyMessage) {
				t.Errorf("Ready = %s/%s/%q, want %s/%s/%q", r.Status, r.Reason, r.Message, tc.readyStatus, tc.readyReason, tc.readyMessage)
			}
			if cr := cond(st, corev1.ContainersReady); cr.Status != r.Status || cr.Reason != r.Reason {
				t.Errorf("ContainersReady = %s/%s, Ready = %s/%s", cr.Status, cr.Reason, r.Status, r.Reason)
			}
			ic := cond(st, corev1.PodInitialized)
			if ic.Status != tc.initStatus || ic.Message != tc.initMessage {
				t.Errorf("Initialized = %s/%q, want %s/%q", ic.Status, ic.Message, tc.initStatus, tc.initMessage)
			}
			if c := cond(st, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionTrue {
				t.Errorf("PodReadyToStartContainers = %s", c.Status)
			}
			if c := cond(st, corev1.PodScheduled); c.Status != corev1.ConditionTrue || c.ObservedGeneration != 3 {
				t.Errorf("PodScheduled = %+v", c)
			}
			app := st.ContainerStatuses[0]
			gotWaiting := ""
			if app.State.Waiting != nil {
				gotWaiting = app.State.Waiting.Reason
			}
			if gotWaiting != tc.appWaiting {
				t.Errorf("app waiting reason = %q, want %q (state %+v)", gotWaiting, tc.appWaiting, app.State)
			}
			if app.RestartCount != tc.appRestarts {
				t.Errorf("restartCount = %d, want %d", app.RestartCount, tc.appRestarts)
			}
			if tc.lastExit != nil && (app.LastTerminationState.Terminated == nil || app.LastTerminationState.Terminated.ExitCode != *tc.lastExit) {
				t.Errorf("lastState = %+v, want exit %d", app.LastTerminationState, *tc.lastExit)
			}
			if st.PodIP != "10.0.0.5" || st.HostIP != "192.0.2.1" || st.QOSClass != corev1.PodQOSBestEffort || st.ObservedGeneration != 3 {
				t.Errorf("ips/qos/generation = %s %s %s %d", st.PodIP, st.HostIP, st.QOSClass, st.ObservedGeneration)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRunningContainerFields(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, nil, "app")
	prev := exited("app", runtime.ContainerTypeRegular, 0, 0)
	prev.Reason = runtime.ReasonOOMKilled
	cur := running("app", runtime.ContainerTypeRegular, 1)
	st := Generate(Input{Pod: pod, Containers: []*runtime.ContainerStatus{prev, cur}, Now: t0})
	cs := st.ContainerStatuses[0]
	if cs.ContainerID != "containerd://app-id" || cs.ImageID != "docker.io/library/img@sha256:abc" || cs.Image != "docker.io/library/img:1" {
		t.Errorf("ids = %q %q %q", cs.ContainerID, cs.ImageID, cs.Image)
	}
	if !cs.Ready || cs.Started == nil || !*cs.Started || cs.RestartCount != 1 || cs.State.Running == nil {
		t.Errorf("status = %+v", cs)
	}
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.Reason != runtime.ReasonOOMKilled {
		t.Errorf("lastState = %+v", cs.LastTerminationState)
	}
}

// TestStartErrorWaiting: a container that failed to start waits with the
// pod workers' reason, its StartError instance as the last state with the
// runtime's message, as upstream reports it.
func TestStartErrorWaiting(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, nil, "app")
	failed := exited("app", runtime.ContainerTypeRegular, 2, runtime.StartErrorExitCode)
	failed.StartedAt = time.Time{}
	failed.Reason, failed.Message = runtime.ReasonStartError, `exec: "nope": executable file not found in $PATH`
	for _, reason := range []string{ReasonRunContainerError, ReasonCrashLoopBackOff} {
		t.Run(reason, func(t *testing.T) {
			st := Generate(Input{Pod: pod, Containers: []*runtime.ContainerStatus{failed}, Now: t0,
				Waiting: map[string]Waiting{"app": {Reason: reason, Message: "m"}}})
			cs := st.ContainerStatuses[0]
			if w := cs.State.Waiting; w == nil || w.Reason != reason || cs.RestartCount != 2 {
				t.Errorf("state = %+v restarts %d", cs.State, cs.RestartCount)
			}
			lt := cs.LastTerminationState.Terminated
			if lt == nil || lt.ExitCode != 128 || lt.Reason != "StartError" || lt.Message != failed.Message || !lt.StartedAt.IsZero() {
				t.Errorf("lastState = %+v", cs.LastTerminationState)
			}
		})
	}
}

func TestMergeAndNeedsUpdate(t *testing.T) {
	tt := metav1.NewTime(t0)
	old := corev1.PodStatus{Phase: corev1.PodFailed, Conditions: []corev1.PodCondition{
		{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager"},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: tt},
	}}
	gen := corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}
	m := Merge(&old, gen)
	if m.Phase != corev1.PodFailed {
		t.Errorf("terminal phase regressed to %s", m.Phase)
	}
	if len(m.Conditions) != 2 || m.Conditions[0].Type != corev1.DisruptionTarget || m.Conditions[1].Status != corev1.ConditionFalse {
		t.Errorf("conditions = %+v", m.Conditions)
	}
	if !NeedsUpdate(&old, &m) {
		t.Error("a changed condition needs no update")
	}
	probed := *old.DeepCopy()
	probed.Conditions[1].LastProbeTime = metav1.NewTime(t0.Add(time.Hour))
	if NeedsUpdate(&old, &probed) {
		t.Error("a probe time alone needs an update")
	}
}
