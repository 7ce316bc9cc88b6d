package printers

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// nodeLostReason is the pod status reason the node lifecycle controller sets
// on pods of an unreachable node.
const nodeLostReason = "NodeLost"

var pods = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
	{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
	{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
	ageColumn,
	{Name: "IP", Type: "string", Priority: 1, Description: corev1.PodStatus{}.SwaggerDoc()["podIP"]},
	{Name: "Node", Type: "string", Priority: 1, Description: corev1.PodSpec{}.SwaggerDoc()["nodeName"]},
	{Name: "Nominated Node", Type: "string", Priority: 1, Description: corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]},
	{Name: "Readiness Gates", Type: "string", Priority: 1, Description: corev1.PodSpec{}.SwaggerDoc()["readinessGates"]},
}, rowsOf(podRow))

// The row conditions of finished pods, which lets kubectl hide them.
var (
	podSucceededConditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	podFailedConditions    = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: "The pod failed."}}
)

// podTally is what the READY, STATUS and RESTARTS cells are computed from.
type podTally struct {
	reason          string
	ready, total    int
	restarts        int
	lastRestart     metav1.Time
	sidecarRestarts int
	lastSidecar     metav1.Time
}

// restarted counts a container's restarts and remembers its last one.
func restarted(s corev1.ContainerStatus, restarts *int, last *metav1.Time) {
	*restarts += int(s.RestartCount)
	if t := s.LastTerminationState.Terminated; t != nil && last.Before(&t.FinishedAt) {
		*last = t.FinishedAt
	}
}

func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func podRow(pod *corev1.Pod, now time.Time) (metav1.TableRow, error) {
	p := podTally{reason: string(pod.Status.Phase), total: len(pod.Spec.Containers)}
	if pod.Status.Reason != "" {
		p.reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			p.reason = corev1.PodReasonSchedulingGated
		}
	}

	initContainers := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		initContainers[c.Name] = c
		if isSidecar(c) {
			p.total++
		}
	}

	initializing := p.initContainers(pod, initContainers)
	if !initializing || podConditionTrue(pod, corev1.PodInitialized) {
		p.containers(pod)
	}

	if pod.DeletionTimestamp != nil && pod.Status.Reason == nodeLostReason {
		p.reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		p.reason = "Terminating"
	}

	restarts := strconv.Itoa(p.restarts)
	if p.restarts != 0 && !p.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", p.restarts, since(p.lastRestart, now))
	}

	podIP := none
	if len(pod.Status.PodIPs) > 0 {
		podIP = orNone(pod.Status.PodIPs[0].IP)
	}
	readinessGates := none
	if len(pod.Spec.ReadinessGates) > 0 {
		trueGates := 0
		for _, gate := range pod.Spec.ReadinessGates {
			if podConditionTrue(pod, gate.ConditionType) {
				trueGates++
			}
		}
		readinessGates = fmt.Sprintf("%d/%d", trueGates, len(pod.Spec.ReadinessGates))
	}

	row := metav1.TableRow{Cells: []any{
		pod.Name, fmt.Sprintf("%d/%d", p.ready, p.total), p.reason, restarts, since(pod.CreationTimestamp, now),
		podIP, orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName), readinessGates,
	}}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		row.Conditions = podSucceededConditions
	case corev1.PodFailed:
		row.Conditions = podFailedConditions
	}
	return row, nil
}

// initContainers tallies the init containers up to the first one that has
// not finished, and says whether the pod is still initializing.
func (p *podTally) initContainers(pod *corev1.Pod, specs map[string]*corev1.Container) bool {
	for i, s := range pod.Status.InitContainerStatuses {
		restarted(s, &p.restarts, &p.lastRestart)
		sidecar := isSidecar(specs[s.Name])
		if sidecar {
			restarted(s, &p.sidecarRestarts, &p.lastSidecar)
		}
		terminated, waiting := s.State.Terminated, s.State.Waiting
		switch {
		case terminated != nil && terminated.ExitCode == 0:
			continue
		case sidecar && s.Started != nil && *s.Started:
			if s.Ready {
				p.ready++
			}
			continue
		case terminated != nil:
			switch {
			case terminated.Reason != "":
				p.reason = "Init:" + terminated.Reason
			case terminated.Signal != 0:
				p.reason = fmt.Sprintf("Init:Signal:%d", terminated.Signal)
			default:
				p.reason = fmt.Sprintf("Init:ExitCode:%d", terminated.ExitCode)
			}
		case waiting != nil && waiting.Reason != "" && waiting.Reason != "PodInitializing":
			p.reason = "Init:" + waiting.Reason
		default:
			p.reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		return true
	}
	return false
}

// containers tallies the regular containers once initialization is over:
// their restarts are added to the sidecars' (the other init containers' no
// longer count), and the last one with something to report names the status.
func (p *podTally) containers(pod *corev1.Pod) {
	p.restarts, p.lastRestart = p.sidecarRestarts, p.lastSidecar
	running := false
	errorReason := ""
	for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
		s := pod.Status.ContainerStatuses[i]
		restarted(s, &p.restarts, &p.lastRestart)
		switch terminated := s.State.Terminated; {
		case s.State.Waiting != nil && s.State.Waiting.Reason != "":
			p.reason = s.State.Waiting.Reason
		case terminated != nil:
			switch {
			case terminated.Reason != "":
				p.reason = terminated.Reason
			case terminated.Signal != 0:
				p.reason = fmt.Sprintf("Signal:%d", terminated.Signal)
			default:
				p.reason = fmt.Sprintf("ExitCode:%d", terminated.ExitCode)
			}
			if terminated.ExitCode != 0 {
				errorReason = p.reason
			}
		case s.Ready && s.State.Running != nil:
			running = true
			p.ready++
		}
	}
	// A pod with a completed container but others still running is not
	// Completed.
	if p.reason == "Completed" {
		switch {
		case running && podReady(pod):
			p.reason = "Running"
		case errorReason != "":
			p.reason = errorReason
		case running:
			p.reason = "NotReady"
		}
	}
}

// podReady says whether any Ready condition of the pod is True.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// podConditionTrue says whether the pod's first condition of type t is True.
func podConditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var podTemplates = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Containers", Type: "string", Description: "Names of each container in the template."},
	{Name: "Images", Type: "string", Description: "Images referenced by each container in the template."},
	{Name: "Pod Labels", Type: "string", Description: "The labels for the pod template."},
}, rowsOf(func(t *corev1.PodTemplate, _ time.Time) (metav1.TableRow, error) {
	names, images := containerCells(t.Template.Spec.Containers)
	return cells(t.Name, names, images, labels.FormatLabels(t.Template.Labels))
}))
