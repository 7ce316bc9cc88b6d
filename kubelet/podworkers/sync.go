package podworkers

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/kubelet/runtime"
	"github.com/skiff-dev/skiff/kubelet/status"
)

const maxMountDelay = 2*time.Minute + 2*time.Second // upstream's volume retry cap

// sync converges one pod and reports whether its worker is done.
func (w *Workers) sync(ctx context.Context, wk *worker) (bool, error) {
	wk.mu.Lock()
	pod, gone := wk.pod.DeepCopy(), wk.gone
	wk.mu.Unlock()
	if pod == nil {
		return true, nil
	}
	if gone {
		return true, w.removePod(ctx, wk, pod)
	}
	if pod.DeletionTimestamp != nil {
		return w.terminatePod(ctx, wk, pod)
	}
	if wk.finished || isTerminalPhase(pod.Status.Phase) {
		return false, w.finishPod(ctx, wk, pod)
	}
	return false, w.converge(ctx, wk, pod)
}

// converge makes the runtime run what pod asks for, one step per call at
// most for init containers, and writes the resulting status.
func (w *Workers) converge(ctx context.Context, wk *worker, pod *corev1.Pod) error {
	rt := w.cfg.Runtime
	steps := runtime.NewSteps()
	if w.cfg.Prober != nil {
		w.cfg.Prober.AddPod(pod)
		wk.probing = true
	}
	containers, err := rt.ListPodContainers(ctx, pod.UID)
	if err != nil {
		return err
	}
	steps.Mark("listContainers")
	if obs, ok := w.cfg.Prober.(ContainerObserver); ok {
		for _, c := range latestByName(containers) {
			obs.UpdateContainer(pod.UID, c.Name, c.ID, c.StartedAt, c.State == runtime.ContainerRunning)
		}
	}
	if podFinished(pod, latestByName(containers)) {
		wk.finished = true
		return w.finishPod(ctx, wk, pod)
	}
	sb, err := rt.GetPodSandbox(ctx, pod.UID)
	if err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	steps.Mark("getSandbox")
	if err != nil || !rt.SandboxReady(ctx, sb) {
		steps.Mark("sandboxReady")
		var serr error
		sb, serr = w.ensureSandbox(ctx, wk, pod, sb)
		steps.Mark("ensureSandbox")
		if sb == nil {
			containers, _ = rt.ListPodContainers(ctx, pod.UID)
			return errors.Join(serr, w.writeStatus(ctx, wk, pod, nil, containers, false))
		}
		if containers, err = rt.ListPodContainers(ctx, pod.UID); err != nil {
			return err
		}
		steps.Mark("listContainers2")
	} else {
		w.refreshVolumes(ctx, wk, pod)
	}
	w.startContainers(ctx, wk, pod, sb, containers)
	steps.Mark("startContainers")
	if containers, err = rt.ListPodContainers(ctx, pod.UID); err != nil {
		return err
	}
	steps.Mark("listContainers3")
	err = w.writeStatus(ctx, wk, pod, sb, containers, false)
	steps.Mark("writeStatus")
	if log := klog.FromContext(ctx); log.V(2).Enabled() && steps.Total() > 100*time.Millisecond {
		steps.Log(log, "Pod sync timing")
	}
	return err
}

// ensureSandbox replaces a dead sandbox (stopping the containers that ran
// in it) or creates the first one, after setting up the pod's volumes.
func (w *Workers) ensureSandbox(ctx context.Context, wk *worker, pod *corev1.Pod, old *runtime.Sandbox) (*runtime.Sandbox, error) {
	rt := w.cfg.Runtime
	now := w.cfg.Clock.Now()
	if old != nil {
		w.podEvent(pod, corev1.EventTypeNormal, EventSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
		if err := rt.StopPod(ctx, pod.UID, minimumGracePeriod); err != nil {
			return nil, err
		}
		if err := rt.RemovePodSandbox(ctx, old.ID); err != nil {
			return nil, err
		}
	}
	if now.Before(wk.nextMount) {
		return nil, nil
	}
	retryLater := func() {
		wk.mountDelay = min(max(2*wk.mountDelay, time.Second), maxMountDelay)
		wk.nextMount = now.Add(wk.mountDelay)
	}
	// RunPodSandbox sets the volumes up first thing (before any network
	// or container work), so they are not written twice per start.
	sb, warnings, err := rt.RunPodSandbox(ctx, pod)
	for _, msg := range warnings {
		w.podEvent(pod, corev1.EventTypeWarning, EventDNSConfigForming, "%s", msg)
	}
	var verr *runtime.VolumeError
	if errors.As(err, &verr) {
		w.podEvent(pod, corev1.EventTypeWarning, EventFailedMount, "%v", err)
		retryLater()
		return nil, nil // reported as an event; retried with back-off
	}
	if err != nil {
		w.podEvent(pod, corev1.EventTypeWarning, EventFailedCreatePodSandBox, "Failed to create pod sandbox: %v", err)
		retryLater()
		return nil, err
	}
	wk.mountDelay, wk.nextMount = 0, time.Time{}
	wk.nextVolumeRefresh = now.Add(w.cfg.VolumeRefreshInterval)
	return sb, nil
}

// refreshVolumes sets the volumes of a pod with a running sandbox up again
// every VolumeRefreshInterval, so that ConfigMap, Secret and token changes
// reach the mounted files. A failure is an event; the files keep their
// previous content and the containers keep running.
func (w *Workers) refreshVolumes(ctx context.Context, wk *worker, pod *corev1.Pod) {
	now := w.cfg.Clock.Now()
	if now.Before(wk.nextVolumeRefresh) {
		return
	}
	wk.nextVolumeRefresh = now.Add(w.cfg.VolumeRefreshInterval)
	if err := w.cfg.Runtime.SetUpVolumes(ctx, pod); err != nil {
		klog.FromContext(ctx).Error(err, "Refreshing volumes failed, keeping their content")
		w.podEvent(pod, corev1.EventTypeWarning, EventFailedMount, "%v", err)
	}
}

// startContainers takes the next steps of the pod's start order: init
// containers one at a time (sidecars started, others run to completion),
// then all app containers, restarting exited ones as the restart policy
// says.
func (w *Workers) startContainers(ctx context.Context, wk *worker, pod *corev1.Pod, sb *runtime.Sandbox, all []*runtime.ContainerStatus) {
	latest := latestByName(all)
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := latest[c.Name]
		if isSidecar(c) {
			if cur != nil && cur.State == runtime.ContainerRunning && cur.SandboxID == sb.ID {
				if !w.livenessKill(ctx, wk, pod, c, cur) {
					wk.clearWaiting(c.Name)
					if !w.started(pod, c, cur) {
						initDone = false
						break
					}
					continue
				}
				cur = w.refresh(ctx, cur)
			}
			w.startContainer(ctx, wk, pod, sb, c, runtime.ContainerTypeSidecar, cur, all)
			initDone = false
			break
		}
		if cur != nil && cur.SandboxID == sb.ID {
			if cur.State == runtime.ContainerExited && cur.ExitCode == 0 {
				continue
			}
			if cur.State == runtime.ContainerRunning {
				initDone = false
				break
			}
		}
		w.startContainer(ctx, wk, pod, sb, c, runtime.ContainerTypeInit, cur, all)
		initDone = false
		break
	}
	if !initDone {
		return
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cur := latest[c.Name]
		if cur != nil && cur.State == runtime.ContainerRunning && cur.SandboxID == sb.ID {
			if !w.livenessKill(ctx, wk, pod, c, cur) {
				wk.clearWaiting(c.Name)
				continue
			}
			cur = w.refresh(ctx, cur)
		}
		if cur != nil && cur.State == runtime.ContainerExited && cur.SandboxID == sb.ID && !shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode) {
			wk.clearWaiting(c.Name)
			continue
		}
		w.startContainer(ctx, wk, pod, sb, c, runtime.ContainerTypeRegular, cur, all)
	}
}

func (w *Workers) refresh(ctx context.Context, c *runtime.ContainerStatus) *runtime.ContainerStatus {
	if st, err := w.cfg.Runtime.ContainerStatus(ctx, c.ID); err == nil {
		return st
	}
	return c
}

func (w *Workers) started(pod *corev1.Pod, c *corev1.Container, cur *runtime.ContainerStatus) bool {
	return w.cfg.Prober == nil || w.cfg.Prober.Started(pod.UID, c.Name, cur.ID)
}

// livenessKill stops a container whose liveness probe failed and reports
// whether it did.
func (w *Workers) livenessKill(ctx context.Context, wk *worker, pod *corev1.Pod, c *corev1.Container, cur *runtime.ContainerStatus) bool {
	wk.mu.Lock()
	failed := wk.livenessFailed[cur.ID]
	delete(wk.livenessFailed, cur.ID)
	wk.mu.Unlock()
	if !failed {
		return false
	}
	grace := podGrace(pod)
	if p := c.LivenessProbe; p != nil && p.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	w.killContainer(ctx, pod, c, cur.ID, grace, fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.Name))
	return true
}

// startContainer starts a (new instance of a) container, unless it is in
// back-off, after making its image available. prev is the latest instance.
func (w *Workers) startContainer(ctx context.Context, wk *worker, pod *corev1.Pod, sb *runtime.Sandbox, c *corev1.Container, typ runtime.ContainerType, prev *runtime.ContainerStatus, all []*runtime.ContainerStatus) {
	rt := w.cfg.Runtime
	log := klog.FromContext(ctx).WithValues("container", c.Name)
	restartCount := 0
	if prev != nil {
		restartCount = prev.RestartCount + 1
		switch {
		case prev.State == runtime.ContainerCreated:
			// Created but never started (e.g. the kubelet stopped in between).
			if err := rt.RemoveContainer(ctx, prev.ID); err != nil {
				log.Error(err, "Remove unstarted container")
				return
			}
			restartCount = prev.RestartCount
		case prev.State == runtime.ContainerExited && prev.SandboxID == sb.ID:
			key := backoffKey(pod, c)
			if w.crashBackoff.IsInBackOffSince(key, prev.FinishedAt) {
				d := w.crashBackoff.Get(key)
				msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", d, c.Name, formatPod(pod))
				if wk.setWaiting(c.Name, status.ReasonCrashLoopBackOff, msg) {
					w.containerEvent(pod, c, corev1.EventTypeWarning, EventBackOff, "Back-off restarting failed container %s in pod %s", c.Name, formatPod(pod))
				}
				return
			}
			w.crashBackoff.Next(key, prev.FinishedAt)
		}
	}
	steps := runtime.NewSteps()
	defer steps.Log(log, "Start container steps")
	if !w.ensureImage(ctx, wk, pod, c) {
		return
	}
	steps.Mark("ensureImage")
	var serviceEnv map[string]string
	if w.cfg.ServiceEnv != nil {
		serviceEnv = w.cfg.ServiceEnv(pod.Namespace)
	}
	if _, err := runtime.MakeEnvironment(ctx, pod, c, runtime.EnvContext{PodIPs: sb.IPStrings(), HostIPs: w.cfg.HostIPs,
		ServiceEnv: serviceEnv, Objects: w.cfg.Objects}); err != nil {
		if wk.setWaiting(c.Name, status.ReasonCreateContainerConfigError, err.Error()) {
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %v", err)
		}
		return
	}
	steps.Mark("environment")
	id, err := rt.CreateContainer(ctx, sb, pod, c, runtime.CreateOptions{Type: typ, RestartCount: restartCount, ServiceEnv: serviceEnv})
	steps.Mark("create")
	if err != nil {
		if wk.setWaiting(c.Name, status.ReasonCreateContainerError, err.Error()) {
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %v", err)
		}
		return
	}
	w.containerEvent(pod, c, corev1.EventTypeNormal, EventCreated, "Container created")
	// Keep the new instance and the one before it (the last state).
	for _, old := range all {
		if old.Name == c.Name && old.ID != id && (prev == nil || old.ID != prev.ID) {
			if err := rt.RemoveContainer(ctx, old.ID); err != nil {
				log.Error(err, "Remove old container instance", "id", old.ID)
			}
		}
	}
	steps.Mark("createdEvent")
	if err := rt.StartContainer(ctx, id); err != nil {
		// The runtime records the instance as exited with StartError, so
		// the next attempts back off as after a crash (CrashLoopBackOff),
		// as upstream does; until then the container waits with
		// RunContainerError.
		wk.setWaiting(c.Name, status.ReasonRunContainerError, err.Error())
		w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %v", err)
		return
	}
	steps.Mark("start")
	w.containerEvent(pod, c, corev1.EventTypeNormal, EventStarted, "Container started")
	wk.clearWaiting(c.Name)
	log.V(1).Info("Started container", "id", id, "restartCount", restartCount)
	if w.cfg.Prober != nil && c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if msg, err := w.cfg.Prober.RunHandler(ctx, pod, c, id, c.Lifecycle.PostStart); err != nil {
			log.Error(err, "PostStart hook failed", "message", msg)
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailedPostStartHook, "PostStartHook failed")
			w.killContainer(ctx, pod, c, id, podGrace(pod), "FailedPostStartHook")
		}
	}
}

// ensureImage makes c's image present under its pull policy, with
// ImagePullBackOff between failed pulls. It reports whether it is.
func (w *Workers) ensureImage(ctx context.Context, wk *worker, pod *corev1.Pod, c *corev1.Container) bool {
	rt := w.cfg.Runtime
	_, err := rt.GetImage(ctx, c.Image)
	var ie *runtime.ImageError
	if errors.As(err, &ie) {
		if wk.setWaiting(c.Name, ie.Reason, ie.Message) {
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventInspectFailed, "%s", ie.Message)
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %s", ie.Reason)
		}
		return false
	}
	if err != nil && !errdefs.IsNotFound(err) {
		wk.setWaiting(c.Name, status.ReasonErrImagePull, err.Error())
		return false
	}
	pull, err := runtime.ShouldPull(c.ImagePullPolicy, c.Image, err == nil)
	if err != nil {
		if wk.setWaiting(c.Name, status.ReasonErrImageNeverPull, err.Error()) {
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventErrImageNeverPull, "%v", err)
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %s", status.ReasonErrImageNeverPull)
		}
		return false
	}
	if !pull {
		w.containerEvent(pod, c, corev1.EventTypeNormal, EventPulled, "Container image %q already present on machine", c.Image)
		return true
	}
	key := string(pod.UID) + "_" + c.Image
	now := w.cfg.Clock.Now()
	if w.imageBackoff.IsInBackOffSinceUpdate(key, now) {
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		wk.mu.Lock()
		prevErr := wk.pullErrors[c.Image]
		wk.mu.Unlock()
		full := msg
		if prevErr != "" {
			full = msg + ": " + prevErr
		}
		if wk.setWaiting(c.Name, status.ReasonImagePullBackOff, full) {
			// As upstream: the image manager's BackOff, then
			// startContainer's Failed with the error's text.
			w.containerEvent(pod, c, corev1.EventTypeNormal, EventBackOff, "%s", msg)
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %s", status.ReasonImagePullBackOff)
		}
		return false
	}
	w.containerEvent(pod, c, corev1.EventTypeNormal, EventPulling, "Pulling image %q", c.Image)
	img, err := rt.PullImage(ctx, c.Image, pullCredentials(ctx, w.cfg.Objects, pod))
	if err != nil {
		msg := err.Error()
		w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "%s", msg)
		w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailed, "Error: %s", status.ReasonErrImagePull)
		w.imageBackoff.Next(key, now)
		wk.mu.Lock()
		wk.pullErrors[c.Image] = status.ReasonErrImagePull + ": " + msg
		wk.mu.Unlock()
		wk.setWaiting(c.Name, status.ReasonErrImagePull, msg)
		return false
	}
	wk.mu.Lock()
	delete(wk.pullErrors, c.Image)
	wk.mu.Unlock()
	d := w.cfg.Clock.Since(now).Truncate(time.Millisecond)
	w.containerEvent(pod, c, corev1.EventTypeNormal, EventPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", c.Image, d, d, img.Size)
	return true
}

// killContainer runs the preStop hook (if a prober runs hooks), then stops
// the container with SIGTERM and SIGKILL after what is left of grace.
func (w *Workers) killContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, grace time.Duration, message string) {
	log := klog.FromContext(ctx).WithValues("container", c.Name)
	if message == "" {
		message = fmt.Sprintf("Stopping container %s", c.Name)
	}
	if message != "FailedPostStartHook" {
		w.containerEvent(pod, c, corev1.EventTypeNormal, EventKilling, "%s", message)
	}
	start := w.cfg.Clock.Now()
	if w.cfg.Prober != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		hctx, cancel := context.WithTimeout(ctx, grace)
		if msg, err := w.cfg.Prober.RunHandler(hctx, pod, c, id, c.Lifecycle.PreStop); err != nil {
			log.Error(err, "PreStop hook failed", "message", msg)
			w.containerEvent(pod, c, corev1.EventTypeWarning, EventFailedPreStopHook, "PreStopHook failed")
		}
		cancel()
		grace -= w.cfg.Clock.Since(start)
	}
	if grace < minimumGracePeriod {
		grace = minimumGracePeriod
	}
	if err := w.cfg.Runtime.StopContainer(ctx, id, grace); err != nil && !errdefs.IsNotFound(err) {
		log.Error(err, "Stop container")
	}
}

// stopContainers stops every running container of the pod within grace:
// app containers together, then sidecars in reverse order.
func (w *Workers) stopContainers(ctx context.Context, pod *corev1.Pod, grace time.Duration) error {
	containers, err := w.cfg.Runtime.ListPodContainers(ctx, pod.UID)
	if err != nil {
		return err
	}
	specs := map[string]*corev1.Container{}
	for i := range pod.Spec.InitContainers {
		specs[pod.Spec.InitContainers[i].Name] = &pod.Spec.InitContainers[i]
	}
	for i := range pod.Spec.Containers {
		specs[pod.Spec.Containers[i].Name] = &pod.Spec.Containers[i]
	}
	deadline := w.cfg.Clock.Now().Add(grace)
	var apps, sidecars []*runtime.ContainerStatus
	for _, c := range containers {
		if c.State != runtime.ContainerRunning {
			continue
		}
		if c.Type == runtime.ContainerTypeSidecar {
			sidecars = append([]*runtime.ContainerStatus{c}, sidecars...)
		} else {
			apps = append(apps, c)
		}
	}
	kill := func(c *runtime.ContainerStatus, g time.Duration) {
		spec := specs[c.Name]
		if spec == nil {
			spec = &corev1.Container{Name: c.Name}
		}
		w.killContainer(ctx, pod, spec, c.ID, g, "")
	}
	var wg sync.WaitGroup
	for _, c := range apps {
		wg.Go(func() { kill(c, grace) })
	}
	wg.Wait()
	for _, c := range sidecars {
		kill(c, deadline.Sub(w.cfg.Clock.Now()))
	}
	return nil
}

// terminatePod stops a pod marked for deletion within its grace period,
// reports its final status, removes it from the runtime and deletes the
// object for good.
func (w *Workers) terminatePod(ctx context.Context, wk *worker, pod *corev1.Pod) (bool, error) {
	rt := w.cfg.Runtime
	if err := w.stopContainers(ctx, pod, podGrace(pod)); err != nil {
		return false, err
	}
	if err := rt.StopPod(ctx, pod.UID, 0); err != nil {
		return false, err
	}
	if w.cfg.Prober != nil {
		w.cfg.Prober.RemovePod(pod.UID)
	}
	if containers, err := rt.ListPodContainers(ctx, pod.UID); err == nil {
		if err := w.writeStatus(ctx, wk, pod, nil, containers, true); err != nil && !apierrors.IsNotFound(errors.Unwrap(err)) {
			klog.FromContext(ctx).V(1).Info("Final status not written", "err", err)
		}
	}
	if err := rt.RemovePod(ctx, pod.UID); err != nil {
		return false, err
	}
	zero := int64(0)
	uid := pod.UID
	err := w.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	w.cfg.Status.Forget(pod.UID)
	w.forgetPodObjects(pod.UID)
	klog.FromContext(ctx).V(1).Info("Pod terminated and deleted")
	return true, nil
}

// removePod cleans up after a pod that is gone from the API server.
func (w *Workers) removePod(ctx context.Context, _ *worker, pod *corev1.Pod) error {
	if err := w.stopContainers(ctx, pod, podGrace(pod)); err != nil {
		return err
	}
	if w.cfg.Prober != nil {
		w.cfg.Prober.RemovePod(pod.UID)
	}
	w.cfg.Status.Forget(pod.UID)
	w.forgetPodObjects(pod.UID)
	return w.cfg.Runtime.RemovePod(ctx, pod.UID)
}

// finishPod stops a pod whose containers will not run again (or that the
// API server has in a terminal phase) and releases its sandbox; the object
// and the containers' statuses stay.
func (w *Workers) finishPod(ctx context.Context, wk *worker, pod *corev1.Pod) error {
	if wk.finalWritten && isTerminalPhase(pod.Status.Phase) {
		return nil
	}
	wk.finished = true
	steps := runtime.NewSteps()
	defer func() {
		if log := klog.FromContext(ctx); log.V(2).Enabled() && steps.Total() > 100*time.Millisecond {
			steps.Log(log, "Pod finish timing")
		}
	}()
	if !wk.stopped {
		if err := w.stopContainers(ctx, pod, podGrace(pod)); err != nil {
			return err
		}
		steps.Mark("stopContainers")
		if err := w.cfg.Runtime.StopPod(ctx, pod.UID, 0); err != nil {
			return err
		}
		steps.Mark("stopPod")
		if w.cfg.Prober != nil && wk.probing {
			w.cfg.Prober.RemovePod(pod.UID)
			wk.probing = false
		}
		wk.stopped = true
	}
	containers, err := w.cfg.Runtime.ListPodContainers(ctx, pod.UID)
	if err != nil {
		return err
	}
	steps.Mark("listContainers")
	if err := w.writeStatus(ctx, wk, pod, nil, containers, true); err != nil {
		return err
	}
	steps.Mark("writeStatus")
	wk.finalWritten = isTerminalPhase(pod.Status.Phase)
	return nil
}

func (w *Workers) writeStatus(ctx context.Context, wk *worker, pod *corev1.Pod, sb *runtime.Sandbox, containers []*runtime.ContainerStatus, terminal bool) error {
	in := status.Input{
		Pod:          pod,
		Containers:   containers,
		SandboxReady: sb != nil && !terminal,
		HostIPs:      w.cfg.HostIPs,
		Waiting:      wk.waitingCopy(),
		Terminal:     terminal,
		Now:          w.cfg.Clock.Now(),
	}
	if sb != nil {
		in.PodIPs = sb.IPStrings()
	}
	if len(in.PodIPs) == 0 && !pod.Spec.HostNetwork {
		for _, ip := range pod.Status.PodIPs {
			in.PodIPs = append(in.PodIPs, ip.IP) // kept once the sandbox is gone
		}
	}
	if p := w.cfg.Prober; p != nil {
		in.Ready = func(name, id string) bool { return p.Ready(pod.UID, name, id) }
		in.Started = func(name, id string) bool { return p.Started(pod.UID, name, id) }
	}
	_, err := w.cfg.Status.SetPodStatus(ctx, pod, status.Generate(in))
	return err
}

// podFinished reports whether none of the pod's containers will run again:
// an init container failed under restartPolicy Never, or every app
// container exited and the policy does not restart it.
func podFinished(pod *corev1.Pod, latest map[string]*runtime.ContainerStatus) bool {
	policy := pod.Spec.RestartPolicy
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if cur := latest[c.Name]; !isSidecar(c) && cur != nil && cur.State == runtime.ContainerExited && cur.ExitCode != 0 && policy == corev1.RestartPolicyNever {
			return true
		}
	}
	if policy == corev1.RestartPolicyAlways || policy == "" || len(pod.Spec.Containers) == 0 {
		return false
	}
	for i := range pod.Spec.Containers {
		cur := latest[pod.Spec.Containers[i].Name]
		if cur == nil || cur.State != runtime.ContainerExited || shouldRestart(policy, cur.ExitCode) {
			return false
		}
	}
	return true
}

func shouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// latestByName maps container names to their newest instance.
func latestByName(cs []*runtime.ContainerStatus) map[string]*runtime.ContainerStatus {
	out := map[string]*runtime.ContainerStatus{}
	for _, c := range cs {
		if o, ok := out[c.Name]; !ok || !c.CreatedAt.Before(o.CreatedAt) {
			out[c.Name] = c
		}
	}
	return out
}

// backoffKey identifies a container for CrashLoopBackOff as upstream's
// GetBackoffKey does: pod name, namespace, UID, container name and a hash
// of the container's spec, so a changed spec starts afresh.
func backoffKey(pod *corev1.Pod, c *corev1.Container) string {
	h := fnv.New32a()
	b, _ := json.Marshal(c)
	_, _ = h.Write(b)
	return fmt.Sprintf("%s_%s_%s_%s_%x", pod.Name, pod.Namespace, pod.UID, c.Name, h.Sum32())
}

// podGrace is the time containers get between SIGTERM and SIGKILL: the
// deletion's grace period, else the pod's terminationGracePeriodSeconds.
func podGrace(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return DefaultTerminationGracePeriod
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func isTerminalPhase(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// setWaiting records why a container waits and reports whether that is news.
func (wk *worker) setWaiting(name, reason, message string) bool {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	old, ok := wk.waiting[name]
	wk.waiting[name] = status.Waiting{Reason: reason, Message: message}
	return !ok || old.Reason != reason || old.Message != message
}

func (wk *worker) clearWaiting(name string) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	delete(wk.waiting, name)
}

func (wk *worker) waitingCopy() map[string]status.Waiting {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	out := make(map[string]status.Waiting, len(wk.waiting))
	for k, v := range wk.waiting {
		out[k] = v
	}
	return out
}
