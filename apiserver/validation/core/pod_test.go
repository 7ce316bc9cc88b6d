package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/defaults"
	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// defaultedPod is a valid pod, defaulted as the API server stores it, after
// mutate has changed it.
func defaultedPod(t *testing.T, mutate func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "nginx:1.27",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
		}}},
	}
	if mutate != nil {
		mutate(pod)
	}
	s := runtime.NewScheme()
	if err := defaults.AddToScheme(s); err != nil {
		t.Fatalf("register defaults: %v", err)
	}
	s.Default(pod)
	return pod
}

// expectStrings fails t unless got, as field.Error strings, holds each of
// want as a prefix of one error, and no other error.
func expectStrings(t *testing.T, got field.ErrorList, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, got[i].Error(), w)
		}
	}
}

func TestValidatePodMessages(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "valid", mutate: nil},
		{
			name: "duplicate container name",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app", Image: "busybox"})
			},
			want: []string{`spec.containers[1].name: Duplicate value: "app"`},
		},
		{
			name:   "missing image",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want:   []string{"spec.containers[0].image: Required value"},
		},
		{
			name:   "restart policy",
			mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want:   []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`},
		},
		{
			name: "sidecar may have probes, a plain init container may not",
			mutate: func(p *corev1.Pod) {
				probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
				p.Spec.InitContainers = []corev1.Container{
					{Name: "sidecar", Image: "envoy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), ReadinessProbe: probe},
					{Name: "init", Image: "busybox", ReadinessProbe: probe},
				}
			},
			want: []string{"spec.initContainers[1].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"},
		},
		{
			name: "non-overcommittable request must equal its limit",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{"example.com/gpu": resource.MustParse("2"), corev1.ResourceCPU: resource.MustParse("1")},
					Requests: corev1.ResourceList{"example.com/gpu": resource.MustParse("1")},
				}
			},
			want: []string{`spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2`},
		},
		{
			name: "hugepages not a multiple of the page size",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits: corev1.ResourceList{"hugepages-2Mi": resource.MustParse("3Mi"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				}
			},
			// Defaulting copies the limit to the request: both are reported.
			want: []string{
				`spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
				`spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
			},
		},
		{
			name: "pod-level requests below the containers' sum",
			mutate: func(p *corev1.Pod) {
				p.Spec.Resources = &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				}
			},
			want: []string{`spec.resources.requests[cpu]: Invalid value: "50m": must be greater than or equal to aggregate container requests of 100m`},
		},
		{
			name: "ephemeral container fields",
			mutate: func(p *corev1.Pod) {
				p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{
					EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: 80}}},
					TargetContainerName:      "nope",
				}}
			},
			want: []string{
				`spec.ephemeralContainers[0].targetContainerName: Not found: "nope"`,
				"spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers: Forbidden: cannot be set on create",
			},
		},
		{
			name: "windows pod with linux-only fields",
			mutate: func(p *corev1.Pod) {
				p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
				p.Spec.HostPID = true
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(false)}
			},
			want: []string{
				"spec.hostPID: Forbidden: cannot be set for a windows pod",
				"spec.containers[0].securityContext.privileged: Forbidden: cannot be set for a windows pod",
			},
		},
		{
			name: "stop signal needs an OS",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: ptr.To(corev1.SIGTERM)}
			},
			want: []string{"spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty `spec.os.name`"},
		},
		{
			name:   "hostUsers false and hostPID",
			mutate: func(p *corev1.Pod) { p.Spec.HostUsers = ptr.To(false); p.Spec.HostPID = true },
			want:   []string{"spec.HostPID: Forbidden: when `hostUsers` is false"},
		},
		{
			name: "topology spread duplicate and minDomains",
			mutate: func(p *corev1.Pod) {
				c := corev1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.ScheduleAnyway, MinDomains: ptr.To[int32](2)}
				p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{c, c}
			},
			want: []string{
				`spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, ScheduleAnyway}"`,
				"spec.topologySpreadConstraints[0].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
				"spec.topologySpreadConstraints[1].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
			},
		},
		{
			name:   "dnsPolicy None needs a config",
			mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want:   []string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"},
		},
		{
			name: "env fieldRef path not supported",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.phase"}}}}
			},
			want: []string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: "metadata.name"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectStrings(t, ValidatePod(defaultedPod(t, tt.mutate)), tt.want...)
		})
	}
}

func TestValidatePodUpdate(t *testing.T) {
	tests := []struct {
		name        string
		old, mutate func(*corev1.Pod)
		want        []string
	}{
		{name: "image change", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }},
		{
			name:   "deadline set, then lowered",
			old:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](100) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](50) },
		},
		{
			name:   "deadline raised",
			old:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](100) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](200) },
			want:   []string{"spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"},
		},
		{
			name: "toleration added; seconds of an existing one changed",
			old: func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr.To[int64](5)}}
			},
			mutate: func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr.To[int64](50)}, {Key: "b", Operator: "Exists"}}
			},
		},
		{
			name:   "toleration removed",
			old:    func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: "Exists"}} },
			mutate: func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			want:   []string{"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"},
		},
		{
			name: "scheduling gate removed, node selector added while gated",
			old:  func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "b"}} },
			mutate: func(p *corev1.Pod) {
				p.Spec.SchedulingGates = p.Spec.SchedulingGates[1:]
				p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			},
		},
		{
			name:   "scheduling gate added",
			mutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "new"}} },
			want:   []string{"spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'new'"},
		},
		{
			name: "container added",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b", TerminationMessagePolicy: "File", ImagePullPolicy: "Always"})
			},
			want: []string{"spec.containers: Forbidden: pod updates may not add or remove containers"},
		},
		{
			name:   "other spec field",
			mutate: func(p *corev1.Pod) { p.Spec.Hostname = "other" },
			want:   []string{"spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := defaultedPod(t, tt.old)
			pod := old.DeepCopy()
			tt.mutate(pod)
			got := ValidatePodUpdate(pod, old)
			expectStrings(t, got, tt.want...)
			if len(got) == 1 && strings.HasPrefix(got[0].Detail, "pod updates may not change") && !strings.Contains(got[0].Detail, `+ "hostname": "other"`) {
				t.Errorf("the diff does not name the changed field: %q", got[0].Detail)
			}
		})
	}
}

func TestValidatePodStatusUpdate(t *testing.T) {
	terminated := corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}
	running := corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	tests := []struct {
		name        string
		old, mutate func(*corev1.Pod)
		want        []string
	}{
		{name: "conditions and IPs", mutate: func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: "True"}, {Type: "example.com/ok", Status: "True"}}
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}}
			p.Status.HostIP, p.Status.HostIPs = "192.168.1.2", []corev1.HostIP{{IP: "192.168.1.2"}}
		}},
		{
			name: "bad condition type, two IPv4 pod IPs, host IP mismatch",
			mutate: func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: "bad type"}}
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "10.0.0.6"}}
				p.Status.HostIP, p.Status.HostIPs = "192.168.1.3", []corev1.HostIP{{IP: "192.168.1.2"}}
			},
			want: []string{
				`status.conditions[0].Type: Invalid value: "bad type"`,
				"status.podIPs: Invalid value:",
				`status.hostIPs[0].ip: Invalid value: "192.168.1.2": must be equal to ` + "`hostIP`",
			},
		},
		{
			name: "terminated container revived in a Never pod",
			old: func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated}
			},
			mutate: func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{running} },
			want:   []string{"status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"},
		},
		{
			name:   "terminated container revived in an Always pod",
			old:    func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated} },
			mutate: func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{running} },
		},
		{
			name:   "qos class changed",
			old:    func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSBurstable },
			mutate: func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			want:   []string{`status.qosClass: Invalid value: "Guaranteed": field is immutable`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := defaultedPod(t, tt.old)
			pod := old.DeepCopy()
			tt.mutate(pod)
			expectStrings(t, ValidatePodStatusUpdate(pod, old), tt.want...)
		})
	}
}

func TestValidatePodEphemeralContainersUpdate(t *testing.T) {
	debug := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File",
	}, TargetContainerName: "app"}
	old := defaultedPod(t, nil)
	added := old.DeepCopy()
	added.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug}
	vt.Expect(t, ValidatePodEphemeralContainersUpdate(added, old))

	changed := added.DeepCopy()
	changed.Spec.EphemeralContainers[0].Image = "alpine"
	expectStrings(t, ValidatePodEphemeralContainersUpdate(changed, added), `spec.ephemeralContainers: Forbidden: existing ephemeral containers "debug" may not be changed`)

	removed := added.DeepCopy()
	removed.Spec.EphemeralContainers = nil
	expectStrings(t, ValidatePodEphemeralContainersUpdate(removed, added), `spec.ephemeralContainers: Forbidden: existing ephemeral containers "debug" may not be removed`)
}

func TestValidatePodResize(t *testing.T) {
	old := defaultedPod(t, nil)
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "cpu request raised", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("200m")
		}},
		{
			name:   "request removed",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = nil },
			want:   []string{"spec: Invalid value:", "spec.containers[0].resources.requests: Forbidden: resource requests cannot be removed"},
		},
		{
			name: "ephemeral storage changed",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
			},
			want: []string{"spec: Forbidden: only cpu and memory resources are mutable"},
		},
		{
			// Guaranteed needs memory as well: the class stays Burstable.
			name: "cpu limit equal to the request",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits = p.Spec.Containers[0].Resources.Requests.DeepCopy()
			},
		},
		{
			name: "becomes guaranteed",
			mutate: func(p *corev1.Pod) {
				r := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: r, Limits: r.DeepCopy()}
			},
			want: []string{`spec: Invalid value: "": Pod QOS Class may not change as a result of resizing`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := old.DeepCopy()
			tt.mutate(pod)
			expectStrings(t, ValidatePodResize(pod, old), tt.want...)
		})
	}
}

func TestValidatePodBinding(t *testing.T) {
	vt.Expect(t, ValidatePodBinding(&corev1.Binding{Target: corev1.ObjectReference{Name: "node-1"}}))
	expectStrings(t, ValidatePodBinding(&corev1.Binding{Target: corev1.ObjectReference{Kind: "Pod"}}),
		`target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"`, "target.name: Required value")
}
