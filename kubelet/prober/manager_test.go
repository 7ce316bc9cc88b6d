package prober

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
)

// harness is a Manager on a fake clock whose exec probes go to a fakeExec;
// it collects the manager's Updates and events.
type harness struct {
	t   *testing.T
	fc  *testingclock.FakeClock
	fe  *fakeExec
	rec *record.FakeRecorder
	m   *Manager

	mu      sync.Mutex
	updates []Update
	events  []string
	done    chan struct{}
}

func newHarness(t *testing.T, respond func(cmd []string, n int) (string, string, int, error)) *harness {
	t.Helper()
	fc := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := &harness{t: t, fc: fc, rec: record.NewFakeRecorder(1000), done: make(chan struct{})}
	h.fe = &fakeExec{now: fc.Now, respond: respond}
	h.m = newTestManager(t, Config{Exec: h.fe, Recorder: h.rec, Clock: fc})
	go func() {
		defer close(h.done)
		for u := range h.m.Updates() {
			h.mu.Lock()
			h.updates = append(h.updates, u)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		h.m.Stop()
		<-h.done
	})
	return h
}

// drive advances the fake clock in steps until cond holds, failing the
// test after 20 seconds of real time.
func (h *harness) drive(what string, cond func() bool) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		if cond() {
			return true, nil
		}
		h.fc.Step(250 * time.Millisecond)
		return false, nil
	})
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (h *harness) gotUpdates() []Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Update(nil), h.updates...)
}

func (h *harness) updatesOf(kind string) []Update {
	var out []Update
	for _, u := range h.gotUpdates() {
		if u.Kind == kind {
			out = append(out, u)
		}
	}
	return out
}

func (h *harness) gotEvents() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		select {
		case e := <-h.rec.Events:
			h.events = append(h.events, e)
		default:
			return append([]string(nil), h.events...)
		}
	}
}

func (h *harness) workerKinds(uid types.UID) []string {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	var kinds []string
	for k := range h.m.workers {
		if k.uid == uid {
			kinds = append(kinds, k.container+"/"+k.kind)
		}
	}
	return kinds
}

func execProbe(name string, mod func(*corev1.Probe)) *corev1.Probe {
	p := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{name}}},
		PeriodSeconds:    1,
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func callsIn(calls []execCall, containerID string) int {
	n := 0
	for _, c := range calls {
		if c.containerID == containerID {
			n++
		}
	}
	return n
}

// script answers the nth call of each command from a string of S (exit 0)
// and F (exit 1); calls past its end repeat the last letter.
func script(scripts map[string]string) func([]string, int) (string, string, int, error) {
	return func(cmd []string, n int) (string, string, int, error) {
		s := scripts[cmd[0]]
		if s == "" {
			return "", "", 0, nil
		}
		i := min(n, len(s)) - 1
		if s[i] == 'F' {
			return cmd[0] + " failed", "", 1, nil
		}
		return "", "", 0, nil
	}
}

func TestReadinessUpdatesOnlyOnChange(t *testing.T) {
	t.Parallel()
	// With a failure threshold of 2, the single F does not count: the
	// result changes at the first S, the second F of FF and the S after it.
	h := newHarness(t, script(map[string]string{"ready": "SSSFSFFSS"}))
	pod := testPod("10.0.0.1", corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", func(p *corev1.Probe) { p.FailureThreshold = 2 })})
	h.m.AddPod(pod)
	h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), true)
	if h.m.Ready(pod.UID, "app", "c1") {
		t.Fatal("ready before the readiness probe ran")
	}
	if !h.m.Started(pod.UID, "app", "c1") {
		t.Fatal("not started though there is no startup probe")
	}
	h.drive("12 readiness runs", func() bool { return len(h.fe.callsOf("ready")) >= 12 })
	h.drive("3 updates", func() bool { return len(h.gotUpdates()) >= 3 })
	got := h.gotUpdates()
	want := []Update{
		{PodUID: pod.UID, Container: "app", ContainerID: "c1", Kind: KindReadiness, Success: true},
		{PodUID: pod.UID, Container: "app", ContainerID: "c1", Kind: KindReadiness, Success: false},
		{PodUID: pod.UID, Container: "app", ContainerID: "c1", Kind: KindReadiness, Success: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("updates = %+v\nwant %+v", got, want)
	}
	if !h.m.Ready(pod.UID, "app", "c1") {
		t.Error("not ready after the last success")
	}
	if h.m.Ready(pod.UID, "app", "old") {
		t.Error("an unknown container ID is ready")
	}
	// Each F was recorded as an event, the successes were not.
	if n := strings.Count(strings.Join(h.gotEvents(), "\n"), "Warning Unhealthy Readiness probe failed: ready failed"); n != 3 {
		t.Errorf("%d Unhealthy events, want 3: %q", n, h.gotEvents())
	}

	// The container stops: not ready at once, reported once.
	h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), false)
	if h.m.Ready(pod.UID, "app", "c1") || h.m.Started(pod.UID, "app", "c1") {
		t.Error("a stopped container is ready or started")
	}
	h.drive("the not-ready update", func() bool { return len(h.gotUpdates()) >= 4 })
	if u := h.gotUpdates()[3]; u.Kind != KindReadiness || u.Success {
		t.Errorf("update after stop = %+v, want readiness false", u)
	}
}

func TestLivenessFailureAndRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, script(map[string]string{"live": "F", "ready": "S"}))
	pod := testPod("10.0.0.1", corev1.Container{
		Name:           "app",
		LivenessProbe:  execProbe("live", nil),
		ReadinessProbe: execProbe("ready", nil),
	})
	h.m.AddPod(pod)
	h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), true)

	h.drive("a liveness update", func() bool { return len(h.updatesOf(KindLiveness)) > 0 })
	if got := h.updatesOf(KindLiveness); got[0] != (Update{PodUID: pod.UID, Container: "app", ContainerID: "c1", Kind: KindLiveness, Success: false}) {
		t.Fatalf("liveness update = %+v", got[0])
	}
	// The update came after exactly failureThreshold (3) failures...
	if n := callsIn(h.fe.callsOf("live"), "c1"); n != 3 {
		t.Errorf("liveness update after %d runs, want 3", n)
	}
	// ... and the probe is on hold until the container is replaced, while
	// the readiness probe goes on.
	readyRuns := len(h.fe.callsOf("ready"))
	h.drive("5 more readiness runs", func() bool { return len(h.fe.callsOf("ready")) >= readyRuns+5 })
	if n := len(h.fe.callsOf("live")); n != 3 {
		t.Errorf("liveness probe ran %d times while on hold, want 3", n)
	}
	if n := strings.Count(strings.Join(h.gotEvents(), "\n"), "Warning Unhealthy Liveness probe failed: live failed"); n != 3 {
		t.Errorf("%d liveness events, want 3: %q", n, h.gotEvents())
	}

	// The restarted container is probed afresh: live until it has failed
	// three times again (no Success update for the reset).
	h.m.UpdateContainer(pod.UID, "app", "c2", h.fc.Now(), true)
	h.drive("a liveness update for c2", func() bool { return len(h.updatesOf(KindLiveness)) > 1 })
	got := h.updatesOf(KindLiveness)
	if len(got) != 2 || got[1].ContainerID != "c2" || got[1].Success {
		t.Errorf("liveness updates = %+v, want a second failure for c2 and nothing else", got)
	}
	if n := callsIn(h.fe.callsOf("live"), "c2"); n != 3 {
		t.Errorf("c2 failed after %d runs, want 3", n)
	}
	if h.m.Ready(pod.UID, "app", "c1") {
		t.Error("the replaced container c1 is still ready")
	}
}

func TestStartupProbe(t *testing.T) {
	t.Parallel()
	t.Run("gates liveness and readiness", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, script(map[string]string{"start": "FFS", "live": "S", "ready": "S"}))
		pod := testPod("10.0.0.1", corev1.Container{
			Name:           "app",
			StartupProbe:   execProbe("start", func(p *corev1.Probe) { p.FailureThreshold = 5 }),
			LivenessProbe:  execProbe("live", nil),
			ReadinessProbe: execProbe("ready", nil),
		})
		h.m.AddPod(pod)
		h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), true)
		if h.m.Started(pod.UID, "app", "c1") || h.m.Ready(pod.UID, "app", "c1") {
			t.Fatal("started or ready before the startup probe passed")
		}
		h.drive("ready", func() bool { return h.m.Ready(pod.UID, "app", "c1") })
		if !h.m.Started(pod.UID, "app", "c1") {
			t.Error("ready but not started")
		}
		starts := h.fe.callsOf("start")
		if len(starts) != 3 {
			t.Fatalf("%d startup runs before ready, want 3", len(starts))
		}
		passed := starts[2].at
		for _, name := range []string{"live", "ready"} {
			for _, c := range h.fe.callsOf(name) {
				if c.at.Before(passed) {
					t.Errorf("%s probe ran at %v, before the startup probe passed at %v", name, c.at, passed)
				}
			}
		}
		// Once passed, the startup probe stops.
		n := len(h.fe.callsOf("live"))
		h.drive("5 more liveness runs", func() bool { return len(h.fe.callsOf("live")) >= n+5 })
		if got := len(h.fe.callsOf("start")); got != 3 {
			t.Errorf("startup probe ran %d times, want 3", got)
		}
		want := []Update{
			{PodUID: pod.UID, Container: "app", ContainerID: "c1", Kind: KindStartup, Success: true},
			{PodUID: pod.UID, Container: "app", ContainerID: "c1", Kind: KindReadiness, Success: true},
		}
		if got := h.gotUpdates(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("updates = %+v, want %+v", got, want)
		}
	})

	t.Run("failing past its threshold", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, script(map[string]string{"start": "F"}))
		pod := testPod("10.0.0.1", corev1.Container{
			Name:           "app",
			StartupProbe:   execProbe("start", func(p *corev1.Probe) { p.FailureThreshold = 2 }),
			LivenessProbe:  execProbe("live", nil),
			ReadinessProbe: execProbe("ready", nil),
		})
		h.m.AddPod(pod)
		h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), true)
		h.drive("the startup update", func() bool { return len(h.gotUpdates()) > 0 })
		if got := h.gotUpdates(); len(got) != 1 || got[0].Kind != KindStartup || got[0].Success {
			t.Errorf("updates = %+v, want one startup failure", got)
		}
		if n := len(h.fe.callsOf("start")); n != 2 {
			t.Errorf("startup failed after %d runs, want 2", n)
		}
		if n := len(h.fe.callsOf("live")) + len(h.fe.callsOf("ready")); n != 0 {
			t.Errorf("liveness and readiness ran %d times before startup passed", n)
		}
		if h.m.Started(pod.UID, "app", "c1") {
			t.Error("started after the startup probe failed")
		}
	})
}

func TestInitialDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	pod := testPod("10.0.0.1", corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", func(p *corev1.Probe) {
		p.InitialDelaySeconds = 7
		p.PeriodSeconds = 30
	})})
	// Long after the manager started: no jitter on the first run.
	h.fc.Step(time.Minute)
	h.m.AddPod(pod)
	started := h.fc.Now().Add(2 * time.Second)
	h.m.UpdateContainer(pod.UID, "app", "c1", started, true)
	h.drive("the first readiness run", func() bool { return len(h.fe.callsOf("ready")) > 0 })
	first := h.fe.callsOf("ready")[0].at
	if first.Before(started.Add(7 * time.Second)) {
		t.Errorf("first run at %v, before the initial delay ended at %v", first, started.Add(7*time.Second))
	}
	// The end of the delay wakes the worker: it does not wait for a 30s tick.
	// (The fake clock may have moved on a little before the run was stamped.)
	if first.After(started.Add(12 * time.Second)) {
		t.Errorf("first run at %v, long after the initial delay ended at %v", first, started.Add(7*time.Second))
	}
	h.drive("ready", func() bool { return h.m.Ready(pod.UID, "app", "c1") })
}

func TestPeriodAndFirstRunJitter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	pod := testPod("10.0.0.1", corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", func(p *corev1.Probe) { p.PeriodSeconds = 10 })})
	created := h.fc.Now()
	h.m.AddPod(pod)
	h.m.UpdateContainer(pod.UID, "app", "c1", created, true)
	h.drive("4 runs", func() bool { return len(h.fe.callsOf("ready")) >= 4 })
	calls := h.fe.callsOf("ready")
	// The manager has just started, so the first run waits for a random
	// part of the period (never more than the period, plus the step or two
	// of the fake clock by which a run's stamp can trail its tick).
	if d := calls[0].at.Sub(created); d > 10*time.Second+4*250*time.Millisecond {
		t.Errorf("first run %v after the worker started, want at most the 10s period", d)
	}
	for i := 1; i < 4; i++ {
		// Runs are stamped when they happen, which may be a step or two of
		// the fake clock after the tick.
		if d := calls[i].at.Sub(calls[i-1].at); d < 8*time.Second || d > 12*time.Second {
			t.Errorf("run %d came %v after the previous one, want the 10s period", i, d)
		}
	}
}

func TestReadyAndStarted(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Config{})
	plain := testPod("10.0.0.1", corev1.Container{Name: "app"})
	plain.UID = "plain"
	probed := testPod("10.0.0.1", corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", func(p *corev1.Probe) { p.PeriodSeconds = 3600 }),
		StartupProbe: execProbe("start", func(p *corev1.Probe) { p.PeriodSeconds = 3600 })})
	probed.UID = "probed"
	// A pod whose status (written before a kubelet restart) reports the
	// instance r1 ready and started.
	restarted := testPod("10.0.0.1", corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", func(p *corev1.Probe) { p.PeriodSeconds = 3600 }),
		StartupProbe: execProbe("start", func(p *corev1.Probe) { p.PeriodSeconds = 3600 })})
	restarted.UID = "restarted"
	started := true
	restarted.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://r1", Ready: true, Started: &started}}
	m.AddPod(plain)
	m.AddPod(probed)
	m.AddPod(restarted)
	now := time.Now()
	m.UpdateContainer("plain", "app", "p1", now, true)
	m.UpdateContainer("plain", "stopped", "p2", now, false)
	tests := []struct {
		name                 string
		uid                  types.UID
		container, id        string
		wantReady, wantStart bool
	}{
		{name: "no probes, running", uid: "plain", container: "app", id: "p1", wantReady: true, wantStart: true},
		{name: "not running", uid: "plain", container: "stopped", id: "p2"},
		{name: "unknown pod", uid: "other", container: "app", id: "x", wantReady: true, wantStart: true},
		{name: "probes without results", uid: "probed", container: "app", id: "q1"},
		{name: "kubelet restart, reported ready", uid: "restarted", container: "app", id: "r1", wantReady: true, wantStart: true},
		{name: "kubelet restart, another instance", uid: "restarted", container: "app", id: "r2"},
	}
	for _, tt := range tests {
		if got := m.Ready(tt.uid, tt.container, tt.id); got != tt.wantReady {
			t.Errorf("%s: Ready = %v, want %v", tt.name, got, tt.wantReady)
		}
		if got := m.Started(tt.uid, tt.container, tt.id); got != tt.wantStart {
			t.Errorf("%s: Started = %v, want %v", tt.name, got, tt.wantStart)
		}
	}
}

func TestWorkersLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	always := corev1.ContainerRestartPolicyAlways
	pod := testPod("10.0.0.1",
		corev1.Container{Name: "app", LivenessProbe: execProbe("live", nil), ReadinessProbe: execProbe("ready", nil), StartupProbe: execProbe("start", nil)},
		corev1.Container{Name: "plain"},
	)
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "sidecar", RestartPolicy: &always, ReadinessProbe: execProbe("sidecar-ready", nil)},
		{Name: "init", ReadinessProbe: execProbe("init-ready", nil)}, // not restartable: never probed
	}
	h.m.AddPod(pod)
	h.m.AddPod(pod) // idempotent
	kinds := h.workerKinds(pod.UID)
	if len(kinds) != 4 {
		t.Fatalf("workers = %v, want app's three and the sidecar's readiness", kinds)
	}
	h.m.UpdateContainer(pod.UID, "sidecar", "s1", h.fc.Now(), true)
	h.drive("sidecar ready", func() bool { return h.m.Ready(pod.UID, "sidecar", "s1") })

	// Deletion: liveness and startup report success and stop, readiness goes on.
	h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), true)
	deleting := pod.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: h.fc.Now()}
	h.m.AddPod(deleting)
	h.drive("liveness and startup workers to stop", func() bool { return len(h.workerKinds(pod.UID)) == 2 })
	if !h.m.Started(pod.UID, "app", "c1") {
		t.Error("startup not reported as passed for a pod being deleted")
	}
	h.m.AddPod(deleting)
	if n := len(h.workerKinds(pod.UID)); n != 2 {
		t.Errorf("%d workers after AddPod of a deleted pod, want 2 (no new liveness or startup)", n)
	}

	h.m.RemovePod(pod.UID)
	if kinds := h.workerKinds(pod.UID); len(kinds) != 0 {
		t.Errorf("workers after RemovePod: %v", kinds)
	}
	if h.m.Ready(pod.UID, "sidecar", "s1") != true {
		t.Error("a forgotten pod has no known probes, so its containers count as ready")
	}
	if n := len(h.fe.callsOf("init-ready")); n != 0 {
		t.Errorf("a regular init container was probed %d times", n)
	}

	h.m.Stop()
	<-h.done // Updates is closed
	h.m.AddPod(pod)
	if n := len(h.workerKinds(pod.UID)); n != 0 {
		t.Errorf("AddPod after Stop started %d workers", n)
	}
}

func TestPodIPChange(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	port := l.Addr().(*net.TCPAddr).Port

	h := newHarness(t, nil)
	pod := testPod("", corev1.Container{Name: "app", ReadinessProbe: &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(int32(port))}},
		PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1,
	}})
	h.m.AddPod(pod)
	h.m.UpdateContainer(pod.UID, "app", "c1", h.fc.Now(), true)
	// Without an IP the probe waits quietly.
	start := h.fc.Now()
	h.drive("5s", func() bool { return h.fc.Since(start) >= 5*time.Second })
	if ev := h.gotEvents(); len(ev) != 0 {
		t.Errorf("events while the pod has no IP: %q", ev)
	}
	// Nothing listens on 127.0.0.2.
	pod.Status.PodIP = "127.0.0.2"
	h.m.AddPod(pod)
	h.drive("a failure event", func() bool { return len(h.gotEvents()) > 0 })
	if ev := h.gotEvents()[0]; !strings.HasPrefix(ev, "Warning Unhealthy Readiness probe failed: Get \"http://127.0.0.2:") || !strings.Contains(ev, "connection refused") {
		t.Errorf("event = %q", ev)
	}
	pod.Status.PodIP = "127.0.0.1"
	h.m.AddPod(pod)
	h.drive("ready", func() bool { return h.m.Ready(pod.UID, "app", "c1") })
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "no Exec", cfg: Config{}},
		{name: "negative buffer", cfg: Config{Exec: &fakeExec{}, UpdateBuffer: -1}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}
