package printers

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

var podsResource = schema.GroupResource{Resource: "pods"}

func running(name string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: true, RestartCount: restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, exitCode, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode, Signal: signal}}}
}

// withLastExit gives a status a previous termination finished d before now.
func withLastExit(s corev1.ContainerStatus, d time.Duration) corev1.ContainerStatus {
	s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(d)}
	return s
}

// podWith is a pod created an hour ago with containers named c0, c1, ...
// and init containers i0, i1, ... (the ones in sidecars restart always).
func podWith(containers, initContainers int, sidecars ...int) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: objMeta("web", time.Hour)}
	for i := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i))})
	}
	for i := range initContainers {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: "i" + string(rune('0'+i))})
	}
	for _, i := range sidecars {
		pod.Spec.InitContainers[i].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	}
	return pod
}

func TestPodRows(t *testing.T) {
	tests := []struct {
		name    string
		pod     func() *corev1.Pod
		ready   string
		status  string
		restart string
		wide    []any // IP, NODE, NOMINATED NODE, READINESS GATES
	}{
		{
			name: "running",
			pod: func() *corev1.Pod {
				p := podWith(2, 0)
				p.Spec.NodeName = "node-1"
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
					ContainerStatuses: []corev1.ContainerStatus{running("c0", 0), running("c1", 0)}}
				return p
			},
			ready: "2/2", status: "Running", restart: "0", wide: []any{"10.0.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "pending without statuses",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending}
				return p
			},
			ready: "0/1", status: "Pending", restart: "0",
		},
		{
			name: "scheduling gated",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}}
				return p
			},
			ready: "0/1", status: "SchedulingGated", restart: "0",
		},
		{
			name: "crash loop with restarts",
			pod: func() *corev1.Pod {
				p := podWith(2, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					withLastExit(func() corev1.ContainerStatus { s := waiting("c0", "CrashLoopBackOff"); s.RestartCount = 4; return s }(), 5*time.Minute),
					withLastExit(running("c1", 1), 30*time.Minute),
				}}
				return p
			},
			ready: "1/2", status: "CrashLoopBackOff", restart: "5 (5m ago)",
		},
		{
			name: "restarts without a termination time",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("c0", 3)}}
				return p
			},
			ready: "1/1", status: "Running", restart: "3",
		},
		{
			name: "status reason",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}
				return p
			},
			ready: "0/1", status: "Evicted", restart: "0",
		},
		{
			name: "container terminated by signal",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{terminated("c0", "", 137, 9)}}
				return p
			},
			ready: "0/1", status: "Signal:9", restart: "0",
		},
		{
			name: "container exit code",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{terminated("c0", "", 2, 0)}}
				return p
			},
			ready: "0/1", status: "ExitCode:2", restart: "0",
		},
		{
			name: "completed container beside a ready one",
			pod: func() *corev1.Pod {
				p := podWith(2, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
					ContainerStatuses: []corev1.ContainerStatus{terminated("c0", "Completed", 0, 0), running("c1", 0)}}
				return p
			},
			ready: "1/2", status: "Running", restart: "0",
		},
		{
			name: "completed container beside a running one, pod not ready",
			pod: func() *corev1.Pod {
				p := podWith(2, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
					ContainerStatuses: []corev1.ContainerStatus{terminated("c0", "Completed", 0, 0), running("c1", 0)}}
				return p
			},
			ready: "1/2", status: "NotReady", restart: "0",
		},
		{
			name: "completed container after a failed one",
			pod: func() *corev1.Pod {
				p := podWith(2, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
					ContainerStatuses: []corev1.ContainerStatus{terminated("c0", "Completed", 0, 0), terminated("c1", "Error", 1, 0)}}
				return p
			},
			ready: "0/2", status: "Error", restart: "0",
		},
		{
			name: "waiting for the first init container",
			pod: func() *corev1.Pod {
				p := podWith(1, 2)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{waiting("i0", "PodInitializing"), waiting("i1", "PodInitializing")},
					ContainerStatuses: []corev1.ContainerStatus{waiting("c0", "PodInitializing")}}
				return p
			},
			ready: "0/1", status: "Init:0/2", restart: "0",
		},
		{
			name: "second init container crash looping",
			pod: func() *corev1.Pod {
				p := podWith(1, 2)
				crash := withLastExit(waiting("i1", "CrashLoopBackOff"), 2*time.Minute)
				crash.RestartCount = 3
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{terminated("i0", "Completed", 0, 0), crash},
					ContainerStatuses: []corev1.ContainerStatus{waiting("c0", "PodInitializing")}}
				return p
			},
			ready: "0/1", status: "Init:CrashLoopBackOff", restart: "3 (2m ago)",
		},
		{
			name: "init container failed",
			pod: func() *corev1.Pod {
				p := podWith(1, 1)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{terminated("i0", "Error", 1, 0)}}
				return p
			},
			ready: "0/1", status: "Init:Error", restart: "0",
		},
		{
			name: "init container killed",
			pod: func() *corev1.Pod {
				p := podWith(1, 1)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{terminated("i0", "", 137, 9)}}
				return p
			},
			ready: "0/1", status: "Init:Signal:9", restart: "0",
		},
		{
			name: "init container exit code",
			pod: func() *corev1.Pod {
				p := podWith(1, 1)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{terminated("i0", "", 3, 0)}}
				return p
			},
			ready: "0/1", status: "Init:ExitCode:3", restart: "0",
		},
		{
			name: "started sidecar counts as a container",
			pod: func() *corev1.Pod {
				p := podWith(1, 2, 0)
				sidecar := withLastExit(running("i0", 2), 10*time.Minute)
				sidecar.Started = ptr.To(true)
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions:            []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
					InitContainerStatuses: []corev1.ContainerStatus{sidecar, withLastExit(func() corev1.ContainerStatus { s := terminated("i1", "Completed", 0, 0); s.RestartCount = 7; return s }(), time.Minute)},
					ContainerStatuses:     []corev1.ContainerStatus{running("c0", 0)}}
				return p
			},
			// The sidecar's restarts count, the finished init container's no longer do.
			ready: "2/2", status: "Running", restart: "2 (10m ago)",
		},
		{
			name: "sidecar not started yet",
			pod: func() *corev1.Pod {
				p := podWith(1, 1, 0)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{waiting("i0", "ContainerCreating")}}
				return p
			},
			ready: "0/2", status: "Init:ContainerCreating", restart: "0",
		},
		{
			name: "sidecar running but not started",
			pod: func() *corev1.Pod {
				p := podWith(1, 2, 0, 1)
				sidecar := withLastExit(running("i0", 3), 10*time.Second)
				sidecar.Ready, sidecar.Started = false, ptr.To(false)
				p.Status = corev1.PodStatus{Phase: corev1.PodPending,
					Conditions:            []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionFalse}},
					InitContainerStatuses: []corev1.ContainerStatus{sidecar, waiting("i1", "")},
					ContainerStatuses:     []corev1.ContainerStatus{waiting("c0", "")}}
				return p
			},
			ready: "0/3", status: "Init:0/2", restart: "3 (10s ago)",
		},
		{
			name: "terminating",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.DeletionTimestamp = ptr.To(ago(time.Second))
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("c0", 0)}}
				return p
			},
			ready: "1/1", status: "Terminating", restart: "0",
		},
		{
			name: "deleted on a lost node",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.DeletionTimestamp = ptr.To(ago(time.Second))
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"}
				return p
			},
			ready: "0/1", status: "Unknown", restart: "0",
		},
		{
			name: "deleted after completion",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.DeletionTimestamp = ptr.To(ago(time.Second))
				p.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{terminated("c0", "Completed", 0, 0)}}
				return p
			},
			ready: "0/1", status: "Completed", restart: "0",
		},
		{
			name: "readiness gates and nominated node",
			pod: func() *corev1.Pod {
				p := podWith(1, 0)
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/a"}, {ConditionType: "example.com/b"}}
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "node-2", Conditions: []corev1.PodCondition{
					{Type: "example.com/a", Status: corev1.ConditionTrue}, {Type: "example.com/b", Status: corev1.ConditionFalse},
				}}
				return p
			},
			ready: "0/1", status: "Pending", restart: "0", wide: []any{"<none>", "<none>", "node-2", "1/2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wide := tt.wide
			if wide == nil {
				wide = []any{"<none>", "<none>", "<none>", "<none>"}
			}
			want := append([]any{"web", tt.ready, tt.status, tt.restart, "60m"}, wide...)
			table := convert(t, podsResource, tt.pod())
			if got := table.Rows[0].Cells; !reflect.DeepEqual(got, want) {
				t.Errorf("cells:\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestPodRowConditions(t *testing.T) {
	tests := []struct {
		phase corev1.PodPhase
		want  []metav1.TableRowCondition
	}{
		{phase: corev1.PodRunning, want: nil},
		{phase: corev1.PodSucceeded, want: []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "The pod has completed successfully."}}},
		{phase: corev1.PodFailed, want: []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Failed", Message: "The pod failed."}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			pod := podWith(1, 0)
			pod.Status.Phase = tt.phase
			table := convert(t, podsResource, pod)
			if got := table.Rows[0].Conditions; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("conditions %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestPodTemplateRows(t *testing.T) {
	testRows(t, schema.GroupResource{Resource: "podtemplates"}, []rowCase{{
		name: "two containers",
		obj: &corev1.PodTemplate{ObjectMeta: objMeta("tpl", time.Hour), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}, {Name: "log", Image: "busybox"}}},
		}},
		cells: []any{"tpl", "app,log", "nginx:1,busybox", "app=web,tier=fe"},
	}, {
		name:  "empty",
		obj:   &corev1.PodTemplate{ObjectMeta: objMeta("tpl", time.Hour)},
		cells: []any{"tpl", "", "", "<none>"},
	}})
}
