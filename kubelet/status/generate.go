package status

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// Condition reasons, as upstream's kubelet reports them.
const (
	ReasonUnknownContainerStatuses = "UnknownContainerStatuses"
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// Waiting reasons of container states, as upstream's kubelet reports them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonInvalidImageName           = "InvalidImageName"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"
	ReasonPostStartHookError         = "PostStartHookError"
)

// ContainerIDPrefix is the runtime type in status container IDs.
const ContainerIDPrefix = "containerd://"

// Waiting is why a container is not running, as the last sync found it
// (a failed pull, a back-off, a config error).
type Waiting struct {
	Reason  string
	Message string
}

// Input is everything a pod's status is generated from.
type Input struct {
	// Pod is the pod as the API server has it; its status is the old status.
	Pod *corev1.Pod
	// Containers are the runtime's containers of the pod (every kept
	// instance), in creation order.
	Containers []*runtime.ContainerStatus
	// SandboxReady says the pod's sandbox runs with its network set up.
	SandboxReady bool
	// PodIPs and HostIPs are the pod's and the node's addresses.
	PodIPs  []string
	HostIPs []string
	// Waiting holds, by container name, why a container could not be
	// (re)started in the last sync.
	Waiting map[string]Waiting
	// Ready and Started report probe results for a running container; nil
	// means ready and started as soon as it runs.
	Ready   func(name, containerID string) bool
	Started func(name, containerID string) bool
	// Terminal says the kubelet will not start any container of the pod
	// again (it finished, or it was stopped for deletion).
	Terminal bool
	// Now stamps startTime and condition transitions; zero means time.Now.
	Now time.Time
}

// Generate computes the pod status as upstream's generateAPIPodStatus does.
func Generate(in Input) corev1.PodStatus {
	pod := in.Pod
	old := &pod.Status
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	byName := map[string][]*runtime.ContainerStatus{}
	for _, c := range in.Containers {
		byName[c.Name] = append(byName[c.Name], c)
	}

	st := corev1.PodStatus{
		QOSClass:           runtime.ComputePodQOSClass(pod),
		ObservedGeneration: pod.Generation,
		NominatedNodeName:  old.NominatedNodeName,
		Resize:             old.Resize,
	}
	if old.StartTime != nil {
		st.StartTime = old.StartTime.DeepCopy()
	} else {
		t := apiTime(now)
		st.StartTime = &t
	}
	for _, ip := range in.HostIPs {
		st.HostIPs = append(st.HostIPs, corev1.HostIP{IP: ip})
	}
	if len(st.HostIPs) > 0 {
		st.HostIP = st.HostIPs[0].IP
	}
	for _, ip := range in.PodIPs {
		st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip})
	}
	if len(st.PodIPs) > 0 {
		st.PodIP = st.PodIPs[0].IP
	}
	if pod.Spec.HostNetwork && len(st.PodIPs) == 0 {
		for _, ip := range in.HostIPs {
			st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip})
		}
		if len(st.PodIPs) > 0 {
			st.PodIP = st.PodIPs[0].IP
		}
	}

	oldStatuses := map[string]*corev1.ContainerStatus{}
	for i := range old.InitContainerStatuses {
		oldStatuses[old.InitContainerStatuses[i].Name] = &old.InitContainerStatuses[i]
	}
	for i := range old.ContainerStatuses {
		oldStatuses[old.ContainerStatuses[i].Name] = &old.ContainerStatuses[i]
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st.InitContainerStatuses = append(st.InitContainerStatuses,
			containerStatus(in, c, true, byName[c.Name], oldStatuses[c.Name], ReasonContainerCreating))
	}
	initialized := initContainersDone(pod, st.InitContainerStatuses) || anyRegularStarted(pod, in.Containers)
	appDefault := ReasonContainerCreating
	if !initialized {
		appDefault = ReasonPodInitializing
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		st.ContainerStatuses = append(st.ContainerStatuses,
			containerStatus(in, c, false, byName[c.Name], oldStatuses[c.Name], appDefault))
	}

	all := append(append([]corev1.ContainerStatus{}, st.InitContainerStatuses...), st.ContainerStatuses...)
	hasInitialized := anyRegularStarted(pod, in.Containers)
	st.Phase = Phase(pod, all, in.Terminal, hasInitialized)
	if isTerminal(old.Phase) && !isTerminal(st.Phase) {
		st.Phase = old.Phase // a terminal phase never changes back
	}

	// Conditions owned by others come first, as upstream keeps them.
	for _, c := range old.Conditions {
		if !OwnedByKubelet(c.Type) {
			st.Conditions = append(st.Conditions, c)
		}
	}
	gen := pod.Generation
	ready2start := corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse}
	if in.SandboxReady {
		ready2start.Status = corev1.ConditionTrue
	}
	initCond := initializedCondition(pod, all, st.Phase, in.Containers)
	crCond := containersReadyCondition(pod, all, st.Phase)
	readyCond := podReadyCondition(pod, st.Conditions, crCond)
	if isTerminal(st.Phase) {
		crCond = terminalCondition(corev1.ContainersReady, st.Phase)
		readyCond = terminalCondition(corev1.PodReady, st.Phase)
	}
	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}
	for _, c := range []corev1.PodCondition{ready2start, initCond, readyCond, crCond, scheduled} {
		c.ObservedGeneration = gen
		c.LastTransitionTime = transitionTime(old, c, now)
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

// containerStatus is the API status of container c from its runtime
// instances (oldest first).
func containerStatus(in Input, c *corev1.Container, isInit bool, instances []*runtime.ContainerStatus, old *corev1.ContainerStatus, defaultReason string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(bool)}
	w, failing := in.Waiting[c.Name]
	if len(instances) == 0 {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: defaultReason}
		if failing {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
		if old != nil {
			// The containers are gone (e.g. removed after a sandbox change):
			// what was last reported stays.
			cs.RestartCount = old.RestartCount
			old.LastTerminationState.DeepCopyInto(&cs.LastTerminationState)
			if old.State.Terminated != nil {
				cs.LastTerminationState = corev1.ContainerState{Terminated: old.State.Terminated.DeepCopy()}
			}
		}
		return cs
	}
	latest := instances[len(instances)-1]
	var previous *runtime.ContainerStatus
	for i := len(instances) - 2; i >= 0; i-- {
		if instances[i].State == runtime.ContainerExited {
			previous = instances[i]
			break
		}
	}
	cs.RestartCount = int32(latest.RestartCount)
	if old != nil && old.RestartCount > cs.RestartCount {
		cs.RestartCount = old.RestartCount
	}
	cs.ContainerID = ContainerIDPrefix + latest.ID
	if latest.ImageRef != "" {
		cs.Image = latest.ImageRef
	}
	cs.ImageID = imageID(latest)
	if previous != nil {
		cs.LastTerminationState = corev1.ContainerState{Terminated: terminated(previous)}
	} else if old != nil && old.LastTerminationState.Terminated != nil && old.ContainerID == cs.ContainerID {
		cs.LastTerminationState = *old.LastTerminationState.DeepCopy()
	}
	switch latest.State {
	case runtime.ContainerRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: apiTime(latest.StartedAt)}
		started := in.Started == nil || in.Started(c.Name, latest.ID)
		cs.Started = &started
		if started {
			cs.Ready = in.Ready == nil || in.Ready(c.Name, latest.ID)
		}
		if isInit && !isSidecar(c) {
			cs.Ready = false
		}
	case runtime.ContainerExited:
		if failing && !in.Terminal {
			// Waiting to be restarted: the exited instance is the last state.
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
			cs.LastTerminationState = corev1.ContainerState{Terminated: terminated(latest)}
			break
		}
		cs.State.Terminated = terminated(latest)
		if isInit && !isSidecar(c) {
			cs.Ready = latest.ExitCode == 0
		}
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating}
		if failing {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
	}
	return cs
}

func terminated(c *runtime.ContainerStatus) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode:    c.ExitCode,
		Reason:      c.Reason,
		Message:     c.Message,
		StartedAt:   apiTime(c.StartedAt),
		FinishedAt:  apiTime(c.FinishedAt),
		ContainerID: ContainerIDPrefix + c.ID,
	}
}

// imageID is the image reference by digest (name@sha256:…), as containerd
// reports repo digests.
func imageID(c *runtime.ContainerStatus) string {
	if c.ImageID == "" {
		return ""
	}
	name := c.ImageRef
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	if name == "" {
		return c.ImageID
	}
	return name + "@" + c.ImageID
}

func apiTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t.Truncate(time.Second))
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func isTerminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

func findStatus(statuses []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
	for _, s := range statuses {
		if s.Name == name {
			return s, true
		}
	}
	return corev1.ContainerStatus{}, false
}

// anyRegularStarted reports whether an app container ever ran, which
// means the pod has been initialized.
func anyRegularStarted(pod *corev1.Pod, containers []*runtime.ContainerStatus) bool {
	for _, c := range containers {
		if c.Type == runtime.ContainerTypeRegular && !c.StartedAt.IsZero() {
			return true
		}
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

func initContainersDone(pod *corev1.Pod, statuses []corev1.ContainerStatus) bool {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s, ok := findStatus(statuses, c.Name)
		if !ok || !initContainerInitialized(c, &s) {
			return false
		}
	}
	return true
}

func initContainerInitialized(c *corev1.Container, s *corev1.ContainerStatus) bool {
	if isSidecar(c) {
		return s.Started != nil && *s.Started
	}
	return s.Ready
}

// OwnedByKubelet reports whether the kubelet generates condition t; other
// conditions (DisruptionTarget, readiness gates) are kept as they are.
func OwnedByKubelet(t corev1.PodConditionType) bool {
	switch t {
	case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReadyToStartContainers:
		return true
	}
	return false
}

func transitionTime(old *corev1.PodStatus, c corev1.PodCondition, now time.Time) metav1.Time {
	for _, o := range old.Conditions {
		if o.Type == c.Type && o.Status == c.Status {
			return o.LastTransitionTime
		}
	}
	return apiTime(now)
}

// Phase computes the pod phase from its container statuses as upstream's
// getPhase does (without per-container restart rules).
func Phase(pod *corev1.Pod, info []corev1.ContainerStatus, podIsTerminal, podHasInitialized bool) corev1.PodPhase {
	spec := &pod.Spec
	pendingSidecars, pendingInit, failedInit := 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isSidecar(c) {
			continue
		}
		s, ok := findStatus(info, c.Name)
		switch {
		case !ok:
			pendingInit++
		case s.State.Running != nil:
			pendingInit++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated != nil {
				if s.LastTerminationState.Terminated.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !isSidecar(c) {
			continue
		}
		s, ok := findStatus(info, c.Name)
		switch {
		case !ok:
			unknown++
		case s.State.Running != nil:
			if s.Started == nil || !*s.Started {
				pendingSidecars++
			}
			running++
		case s.State.Terminated != nil:
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated == nil {
				pendingSidecars++
				waiting++
			}
		default:
			pendingSidecars++
			unknown++
		}
	}
	for i := range spec.Containers {
		s, ok := findStatus(info, spec.Containers[i].Name)
		switch {
		case !ok:
			unknown++
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	if failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 || (pendingSidecars > 0 && !podHasInitialized), waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if spec.RestartPolicy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	default:
		return corev1.PodPending
	}
}

func initializedCondition(pod *corev1.Pod, all []corev1.ContainerStatus, phase corev1.PodPhase, containers []*runtime.ContainerStatus) corev1.PodCondition {
	cond := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	var unknown, incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s, ok := findStatus(all, c.Name)
		if !ok {
			unknown = append(unknown, c.Name)
			continue
		}
		if !initContainerInitialized(c, &s) {
			incomplete = append(incomplete, c.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		cond.Reason = ReasonPodCompleted
		return cond
	}
	if anyRegularStarted(pod, containers) {
		return cond
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", incomplete))
	}
	if len(msgs) > 0 {
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, ReasonContainersNotInitialized, strings.Join(msgs, ", ")
	}
	return cond
}

func containersReadyCondition(pod *corev1.Pod, all []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	cond := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	var unknown, unready []string
	check := func(name string) {
		s, ok := findStatus(all, name)
		switch {
		case !ok:
			unknown = append(unknown, name)
		case !s.Ready:
			unready = append(unready, name)
		}
	}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			check(pod.Spec.InitContainers[i].Name)
		}
	}
	for i := range pod.Spec.Containers {
		check(pod.Spec.Containers[i].Name)
	}
	if (phase == corev1.PodSucceeded && len(unknown) == 0) || phase == corev1.PodFailed {
		return terminalCondition(corev1.ContainersReady, phase)
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", unready))
	}
	if len(msgs) > 0 {
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, ReasonContainersNotReady, strings.Join(msgs, ", ")
	}
	return cond
}

func podReadyCondition(pod *corev1.Pod, others []corev1.PodCondition, containersReady corev1.PodCondition) corev1.PodCondition {
	if containersReady.Status != corev1.ConditionTrue {
		return corev1.PodCondition{Type: corev1.PodReady, Status: containersReady.Status,
			Reason: containersReady.Reason, Message: containersReady.Message}
	}
	var msgs []string
	for _, rg := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range others {
			if others[i].Type == rg.ConditionType {
				found = &others[i]
			}
		}
		switch {
		case found == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		case found.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), found.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse,
			Reason: ReasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

func terminalCondition(t corev1.PodConditionType, phase corev1.PodPhase) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse}
	switch phase {
	case corev1.PodFailed:
		c.Reason = ReasonPodFailed
	case corev1.PodSucceeded:
		c.Reason = ReasonPodCompleted
	}
	return c
}
