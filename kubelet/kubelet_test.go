package kubelet

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/skiff-dev/skiff/kubelet/status"
)

var podSeq atomic.Int32

// newPod is a pod bound to the test node whose containers run sh -c scripts.
func newPod(prefix string, policy corev1.RestartPolicy, scripts ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, podSeq.Add(1)), Namespace: testNS}}
	p.Spec.NodeName = testNode
	p.Spec.RestartPolicy = policy
	p.Spec.AutomountServiceAccountToken = new(bool)
	for i, s := range scripts {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("c%d", i), Image: testImage, Command: []string{"sh", "-c", s}})
	}
	return p
}

func createPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := admin.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = admin.CoreV1().Pods(out.Namespace).Delete(context.Background(), out.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	return out
}

// waitPod polls the pod until cond holds and returns it.
func waitPod(t *testing.T, pod *corev1.Pod, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := admin.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("%s: not reached within %s; phase %s, conditions %+v, init %+v, containers %+v", what, timeout,
			last.Status.Phase, last.Status.Conditions, last.Status.InitContainerStatuses, last.Status.ContainerStatuses)
	}
	t.Fatalf("%s: pod never read", what)
	return nil
}

func podCondition(p *corev1.Pod, ct corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == ct {
			return c
		}
	}
	return corev1.PodCondition{}
}

// waitEvent waits for an event on the pod with reason and a message
// containing msg.
func waitEvent(t *testing.T, pod *corev1.Pod, reason, msg string) corev1.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		evs, err := admin.CoreV1().Events(pod.Namespace).List(context.Background(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)).String()})
		if err == nil {
			seen = seen[:0]
			for _, e := range evs.Items {
				if e.Reason == reason && strings.Contains(e.Message, msg) {
					return e
				}
				seen = append(seen, e.Reason+": "+e.Message)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no event %s %q; seen %q", reason, msg, seen)
	return corev1.Event{}
}

func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && podCondition(p, corev1.PodReady).Status == corev1.ConditionTrue
}

func TestPodRunsAndReportsStatus(t *testing.T) {
	requireNode(t)
	pod := newPod("run", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait")
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: testImage, Command: []string{"sh", "-c", "echo init"}}}
	pod = createPod(t, pod)
	p := waitPod(t, pod, 60*time.Second, "Running and Ready", running)

	cs := p.Status.ContainerStatuses[0]
	if cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || cs.RestartCount != 0 {
		t.Errorf("container status = %+v", cs)
	}
	if !strings.HasPrefix(cs.ContainerID, status.ContainerIDPrefix) || cs.ImageID == "" || cs.Image == "" {
		t.Errorf("container ids = %q %q %q", cs.ContainerID, cs.ImageID, cs.Image)
	}
	ics := p.Status.InitContainerStatuses[0]
	if ics.State.Terminated == nil || ics.State.Terminated.ExitCode != 0 || ics.State.Terminated.Reason != "Completed" || !ics.Ready {
		t.Errorf("init container status = %+v", ics)
	}
	_, cidr, _ := net.ParseCIDR(testCIDR)
	if ip := net.ParseIP(p.Status.PodIP); ip == nil || !cidr.Contains(ip) || len(p.Status.PodIPs) != 1 {
		t.Errorf("podIP = %q, podIPs %v, want one in %s", p.Status.PodIP, p.Status.PodIPs, testCIDR)
	}
	if p.Status.HostIP == "" || p.Status.StartTime == nil || p.Status.QOSClass != corev1.PodQOSBestEffort || p.Status.ObservedGeneration != p.Generation {
		t.Errorf("hostIP %q startTime %v qos %s observedGeneration %d", p.Status.HostIP, p.Status.StartTime, p.Status.QOSClass, p.Status.ObservedGeneration)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodScheduled} {
		if c := podCondition(p, ct); c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %+v", ct, c)
		}
	}
	waitEvent(t, pod, "Pulled", fmt.Sprintf("Container image %q already present on machine", testImage))
	waitEvent(t, pod, "Created", "Container created")
	waitEvent(t, pod, "Started", "Container started")
	if got, ok := current.k.GetPodByName(pod.Namespace, pod.Name); !ok || got.UID != pod.UID {
		t.Errorf("GetPodByName = %v, %v", got, ok)
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	requireNode(t)
	pod := createPod(t, newPod("crash", corev1.RestartPolicyAlways, "echo dying; exit 1"))
	sawBackoff := false
	p := waitPod(t, pod, 90*time.Second, "restartCount >= 3 after CrashLoopBackOff", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		if w := cs.State.Waiting; w != nil && w.Reason == status.ReasonCrashLoopBackOff {
			sawBackoff = strings.Contains(w.Message, "restarting failed container=c0")
		}
		return sawBackoff && cs.RestartCount >= 3
	})
	cs := p.Status.ContainerStatuses[0]
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 1 || lt.Reason != "Error" {
		t.Errorf("lastState = %+v", cs.LastTerminationState)
	}
	if p.Status.Phase != corev1.PodRunning || podCondition(p, corev1.PodReady).Status != corev1.ConditionFalse {
		t.Errorf("phase %s ready %+v", p.Status.Phase, podCondition(p, corev1.PodReady))
	}
	waitEvent(t, pod, "BackOff", "Back-off restarting failed container c0 in pod "+pod.Name+"_"+pod.Namespace)
}

// TestStartErrorBacksOff checks that a container whose command does not
// exist is restarted with CrashLoopBackOff, as upstream, not in a tight
// loop: lastState StartError with exit code 128 and the runtime's message,
// RunContainerError or CrashLoopBackOff while waiting.
func TestStartErrorBacksOff(t *testing.T) {
	requireNode(t)
	p := newPod("starterr", corev1.RestartPolicyAlways, "")
	p.Spec.Containers[0].Command = []string{"/no/such/binary"}
	pod := createPod(t, p)
	start := time.Now()
	reasons := map[string]bool{}
	got := waitPod(t, pod, 90*time.Second, "restartCount >= 3 with CrashLoopBackOff", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		if w := cs.State.Waiting; w != nil {
			reasons[w.Reason] = true
		}
		return reasons[status.ReasonCrashLoopBackOff] && cs.RestartCount >= 3
	})
	// Back-off of 1 s doubling (the test kubelet's): the third restart
	// comes at least 1+2 s after the first failure.
	if elapsed := time.Since(start); elapsed < 3*testBackoff {
		t.Errorf("3 restarts within %s: no back-off", elapsed)
	}
	cs := got.Status.ContainerStatuses[0]
	lt := cs.LastTerminationState.Terminated
	if lt == nil || lt.ExitCode != 128 || lt.Reason != "StartError" || !strings.Contains(lt.Message, "no/such/binary") {
		t.Errorf("lastState = %+v", cs.LastTerminationState)
	}
	if w := cs.State.Waiting; w == nil || (w.Reason != status.ReasonCrashLoopBackOff && w.Reason != status.ReasonRunContainerError) {
		t.Errorf("state = %+v", cs.State)
	}
	waitEvent(t, pod, "Failed", "no/such/binary")
	waitEvent(t, pod, "BackOff", "Back-off restarting failed container c0 in pod "+pod.Name+"_"+pod.Namespace)
}

func TestRestartPolicyNeverFinishes(t *testing.T) {
	requireNode(t)
	tests := []struct {
		name   string
		script string
		phase  corev1.PodPhase
		exit   int32
		reason string
	}{
		{"succeeded", "exit 0", corev1.PodSucceeded, 0, "Completed"},
		{"failed", "exit 3", corev1.PodFailed, 3, "Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := createPod(t, newPod("never-"+tc.name, corev1.RestartPolicyNever, tc.script))
			p := waitPod(t, pod, 60*time.Second, "phase "+string(tc.phase), func(p *corev1.Pod) bool { return p.Status.Phase == tc.phase })
			cs := p.Status.ContainerStatuses[0]
			if term := cs.State.Terminated; term == nil || term.ExitCode != tc.exit || term.Reason != tc.reason || cs.RestartCount != 0 {
				t.Errorf("container status = %+v", cs)
			}
			wantReason := status.ReasonPodCompleted
			if tc.phase == corev1.PodFailed {
				wantReason = status.ReasonPodFailed
			}
			if c := podCondition(p, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != wantReason {
				t.Errorf("Ready = %+v, want reason %s", c, wantReason)
			}
			// The sandbox is released; the object stays.
			waitPod(t, pod, 20*time.Second, "PodReadyToStartContainers False", func(p *corev1.Pod) bool {
				return podCondition(p, corev1.PodReadyToStartContainers).Status == corev1.ConditionFalse
			})
			if sb, err := current.k.Runtime().GetPodSandbox(context.Background(), pod.UID); err == nil && sb.PID != 0 {
				t.Errorf("sandbox of a finished pod still runs (pid %d)", sb.PID)
			}
		})
	}
}

func TestDeleteWithinGrace(t *testing.T) {
	requireNode(t)
	tests := []struct {
		name     string
		script   string
		grace    int64
		min, max time.Duration
	}{
		{"exits on TERM", "trap 'exit 0' TERM; sleep 3600 & wait", 30, 0, 15 * time.Second},
		{"ignores TERM, killed after grace", "trap '' TERM; while :; do sleep 1; done", 4, 3500 * time.Millisecond, 20 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := newPod("del", corev1.RestartPolicyAlways, tc.script)
			pod.Spec.TerminationGracePeriodSeconds = &tc.grace
			pod = createPod(t, pod)
			waitPod(t, pod, 60*time.Second, "Running", running)
			start := time.Now()
			if err := admin.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			deadline := start.Add(tc.max)
			for {
				_, err := admin.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pod still exists %s after deletion", tc.max)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if took := time.Since(start); took < tc.min {
				t.Errorf("pod gone after %s, before SIGKILL was due (%s)", took, tc.min)
			}
			waitEvent(t, pod, "Killing", "Stopping container c0")
			cs, err := current.k.Runtime().ListPodContainers(context.Background(), pod.UID)
			if err != nil || len(cs) != 0 {
				t.Errorf("containers left: %v %v", cs, err)
			}
		})
	}
}

func TestImagePullFailure(t *testing.T) {
	requireNode(t)
	pod := newPod("pull", corev1.RestartPolicyAlways, "true")
	pod.Spec.Containers[0].Image = "127.0.0.1:1/skiff/missing:1" // nothing listens on port 1
	// ErrImagePull is published for one sync only: a watch sees it.
	runID := fmt.Sprint(podSeq.Add(1))
	pod.Labels = map[string]string{"pull-failure": runID}
	list, err := admin.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{LabelSelector: "pull-failure=" + runID})
	if err != nil {
		t.Fatal(err)
	}
	rec := recordPods(t, "pull-failure="+runID, list.ResourceVersion)
	pod = createPod(t, pod)
	if _, _, ok := rec.first(pod.Name, time.Now().Add(60*time.Second), waitingReason(status.ReasonErrImagePull)); !ok {
		t.Fatal("no ErrImagePull status within 60s")
	}
	_, p, ok := rec.first(pod.Name, time.Now().Add(60*time.Second), waitingReason(status.ReasonImagePullBackOff))
	if !ok {
		t.Fatal("no ImagePullBackOff status within 60s")
	}
	if w := p.Status.ContainerStatuses[0].State.Waiting; !strings.HasPrefix(w.Message, `Back-off pulling image "127.0.0.1:1/skiff/missing:1"`) {
		t.Errorf("waiting message = %q", w.Message)
	}
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase = %s", p.Status.Phase)
	}
	waitEvent(t, pod, "Pulling", `Pulling image "127.0.0.1:1/skiff/missing:1"`)
	waitEvent(t, pod, "Failed", `Failed to pull image "127.0.0.1:1/skiff/missing:1"`)
	waitEvent(t, pod, "Failed", "Error: ErrImagePull")
	waitEvent(t, pod, "BackOff", `Back-off pulling image "127.0.0.1:1/skiff/missing:1"`)
}

func TestMissingConfigMap(t *testing.T) {
	requireNode(t)
	ctx := context.Background()
	t.Run("env", func(t *testing.T) {
		t.Parallel()
		pod := newPod("cm-env", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait")
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "pw-missing-env"}, Key: "k"}}}}
		pod = createPod(t, pod)
		waitPod(t, pod, 60*time.Second, "CreateContainerConfigError", func(p *corev1.Pod) bool {
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				return false
			}
			w := p.Status.ContainerStatuses[0].State.Waiting
			return w.Reason == status.ReasonCreateContainerConfigError && w.Message == `configmap "pw-missing-env" not found`
		})
		waitEvent(t, pod, "Failed", `Error: configmap "pw-missing-env" not found`)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pw-missing-env"}, Data: map[string]string{"k": "v"}}
		if _, err := admin.CoreV1().ConfigMaps(testNS).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, pod, 60*time.Second, "Running once the ConfigMap exists", running)
	})
	t.Run("volume", func(t *testing.T) {
		t.Parallel()
		pod := newPod("cm-vol", corev1.RestartPolicyAlways, "true")
		pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "pw-missing-vol"}}}}}
		pod = createPod(t, pod)
		waitEvent(t, pod, "FailedMount", `MountVolume.SetUp failed for volume "cfg" : configmap "pw-missing-vol" not found`)
		p := waitPod(t, pod, 10*time.Second, "ContainerCreating", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
				p.Status.ContainerStatuses[0].State.Waiting.Reason == status.ReasonContainerCreating
		})
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("phase = %s", p.Status.Phase)
		}
	})
}

// TestRestartReadopts runs last: it replaces the package's kubelet.
func TestRestartReadopts(t *testing.T) {
	requireNode(t)
	ctx := context.Background()
	keep := createPod(t, newPod("keep", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait"))
	// A container that fails once (its emptyDir remembers), so that its
	// restartCount is 1 before the kubelet restarts.
	flakyPod := newPod("flaky", corev1.RestartPolicyAlways, "if [ -e /data/ran ]; then trap 'exit 0' TERM; sleep 3600 & wait; fi; touch /data/ran; exit 1")
	flakyPod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	flakyPod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	flaky := createPod(t, flakyPod)
	gone := createPod(t, newPod("gone", corev1.RestartPolicyAlways, "trap 'exit 0' TERM; sleep 3600 & wait"))
	before := waitPod(t, keep, 60*time.Second, "keep Running", running)
	waitPod(t, gone, 60*time.Second, "gone Running", running)
	flakyBefore := waitPod(t, flaky, 60*time.Second, "flaky Running after one restart", func(p *corev1.Pod) bool {
		return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	})

	if err := current.stop(); err != nil {
		t.Fatalf("stop kubelet: %v", err)
	}
	// While the kubelet is down, one pod is force-deleted.
	zero := int64(0)
	if err := admin.CoreV1().Pods(testNS).Delete(ctx, gone.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	var err error
	if current, err = startKubelet(); err != nil {
		t.Fatalf("restart kubelet: %v", err)
	}
	start := time.Now()
	after := waitPod(t, keep, 10*time.Second, "keep still Running", func(p *corev1.Pod) bool {
		return running(p) && p.Status.ContainerStatuses[0].ContainerID == before.Status.ContainerStatuses[0].ContainerID
	})
	if cs := after.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.State.Running == nil {
		t.Errorf("re-adopted container = %+v", cs)
	}
	t.Logf("re-adoption observed %s after the restart", time.Since(start))
	// The status must stay what it was: same instance, restartCount 1,
	// last state the failed first run. Give the new kubelet 2s to write.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		p, err := admin.CoreV1().Pods(testNS).Get(ctx, flaky.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cs := p.Status.ContainerStatuses[0]
		if !running(p) || cs.RestartCount != 1 || cs.ContainerID != flakyBefore.Status.ContainerStatuses[0].ContainerID ||
			cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
			t.Fatalf("flaky pod status changed after the restart: phase %s, %+v", p.Status.Phase, cs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cs, err := current.k.Runtime().ListPodContainers(ctx, gone.UID)
	if err != nil || len(cs) != 0 {
		t.Errorf("containers of the deleted pod left after restart: %v %v", cs, err)
	}
}

// TestStopWhileStartingIsClean: a stop that comes before the kubelet has
// finished starting (SIGTERM right after launch) is a clean exit, not a
// "did not sync: context canceled" failure.
func TestStopWhileStartingIsClean(t *testing.T) {
	requireNode(t)
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{
		{"stopped before start", 0},
		// No pod CIDR anywhere (no node IPAM here): Start waits for
		// one until the stop.
		{"stopped during start", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := New(Config{
				RESTConfig: ts.Config, NodeName: "pw-stopping-node", DataDir: t.TempDir(),
				CgroupRoot: testCgRoot, BridgeName: testBridge,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			if tc.delay == 0 {
				cancel()
			} else {
				time.AfterFunc(tc.delay, cancel)
			}
			go func() { done <- k.Start(ctx) }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Start after the stop returned %v, want nil", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("kubelet did not stop within 30s")
			}
			cancel()
			_ = admin.CoreV1().Nodes().Delete(context.Background(), "pw-stopping-node", metav1.DeleteOptions{})
		})
	}
}
