package podworkers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Event reasons, as upstream's kubelet records them (pkg/kubelet/events).
const (
	EventCreated                = "Created"
	EventStarted                = "Started"
	EventFailed                 = "Failed"
	EventKilling                = "Killing"
	EventBackOff                = "BackOff"
	EventPulling                = "Pulling"
	EventPulled                 = "Pulled"
	EventErrImageNeverPull      = "ErrImageNeverPull"
	EventInspectFailed          = "InspectFailed"
	EventFailedMount            = "FailedMount"
	EventFailedCreatePodSandBox = "FailedCreatePodSandBox"
	EventSandboxChanged         = "SandboxChanged"
	EventFailedPostStartHook    = "FailedPostStartHook"
	EventFailedPreStopHook      = "FailedPreStopHook"
	EventDNSConfigForming       = "DNSConfigForming"
)

func podRef(pod *corev1.Pod) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion}
}

// containerRef is the reference of container events, with the field path
// upstream uses (spec.containers{name}, spec.initContainers{name}).
func containerRef(pod *corev1.Pod, c *corev1.Container) *corev1.ObjectReference {
	ref := podRef(pod)
	ref.FieldPath = fmt.Sprintf("spec.containers{%s}", c.Name)
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == c.Name {
			ref.FieldPath = fmt.Sprintf("spec.initContainers{%s}", c.Name)
		}
	}
	return ref
}

func (w *Workers) podEvent(pod *corev1.Pod, eventType, reason, format string, args ...any) {
	w.cfg.Recorder.Eventf(podRef(pod), eventType, reason, format, args...)
}

func (w *Workers) containerEvent(pod *corev1.Pod, c *corev1.Container, eventType, reason, format string, args ...any) {
	w.cfg.Recorder.Eventf(containerRef(pod, c), eventType, reason, format, args...)
}

// formatPod is upstream's format.Pod: name_namespace(uid).
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
