package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// ContainerState is where a container is in its life.
type ContainerState string

// Container states.
const (
	ContainerCreated ContainerState = "Created" // created, never started
	ContainerRunning ContainerState = "Running"
	ContainerExited  ContainerState = "Exited"
)

// Termination reasons, as upstream reports them in lastState/terminated.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
	ReasonUnknown   = "Unknown"
	// ReasonStartError is a container whose process could not be started
	// (e.g. its command does not exist); it counts as exited with
	// StartErrorExitCode, as containerd's CRI plugin reports it.
	ReasonStartError   = "StartError"
	StartErrorExitCode = 128
	// maxMessageLabel bounds the message kept in a label (containerd caps
	// a label at 4 KiB).
	maxMessageLabel = 2048
)

// ContainerStatus is the runtime's view of one container.
type ContainerStatus struct {
	ID           string
	SandboxID    string
	PodUID       types.UID
	Name         string
	Type         ContainerType
	RestartCount int
	// Image is the pod spec's image; ImageRef the stored name; ImageID its digest.
	Image    string
	ImageRef string
	ImageID  string
	State    ContainerState
	// CreatedAt, StartedAt, FinishedAt are zero when not reached.
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int32
	// Reason is set once exited: Completed, Error, OOMKilled, StartError
	// or Unknown; Message explains a StartError.
	Reason  string
	Message string
	LogPath string
	PID     uint32
}

// CreateOptions are the per-attempt inputs of CreateContainer.
type CreateOptions struct {
	// Type of the container; ContainerTypeRegular if empty.
	Type ContainerType
	// RestartCount is the attempt number (0 for the first); it names the
	// log file and is reported back in the status.
	RestartCount int
	// ServiceEnv holds the service link variables of the namespace.
	ServiceEnv map[string]string
}

// LogPath is where attempt restartCount of container name of the pod logs,
// laid out as upstream's /var/log/pods.
func (r *Runtime) LogPath(pod *corev1.Pod, name string, restartCount int) string {
	return filepath.Join(r.cfg.LogDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), name, fmt.Sprintf("%d.log", restartCount))
}

// CreateContainer creates (does not start) container c of pod in sandbox
// sb. Its image must be present (see EnsureImage). The environment,
// command, mounts, cgroup limits and security settings are resolved now.
func (r *Runtime) CreateContainer(ctx context.Context, sb *Sandbox, pod *corev1.Pod, c *corev1.Container, opts CreateOptions) (string, error) {
	ctx = r.ns(ctx)
	if opts.Type == "" {
		opts.Type = ContainerTypeRegular
	}
	if sb.PID == 0 {
		return "", fmt.Errorf("create container %s: sandbox %s is not running", c.Name, sb.ID)
	}
	steps := NewSteps()
	stored, err := r.GetImage(ctx, c.Image)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", c.Name, err)
	}
	img, err := r.client.GetImage(ctx, stored.Name)
	if err != nil {
		return "", fmt.Errorf("create container %s: load image: %w", c.Name, err)
	}
	imgSpec, err := img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("create container %s: read image config: %w", c.Name, err)
	}
	steps.Mark("image")
	env, err := MakeEnvironment(ctx, pod, c, EnvContext{
		PodIPs: sb.IPStrings(), HostIPs: r.cfg.HostIPs, ServiceEnv: opts.ServiceEnv, Objects: r.cfg.Objects,
	})
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", c.Name, err)
	}
	envMap := make(map[string]string, len(env))
	envList := make([]string, 0, len(env))
	for _, e := range env {
		envMap[e.Name] = e.Value
		envList = append(envList, e.Name+"="+e.Value)
	}
	args := containerArgs(expandCommand(c.Command, envMap), expandCommand(c.Args, envMap),
		imgSpec.Config.Entrypoint, imgSpec.Config.Cmd)
	if len(args) == 0 {
		return "", fmt.Errorf("create container %s: no command specified", c.Name)
	}
	mounts, err := r.containerMounts(sb, pod, c)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", c.Name, err)
	}
	secOpts, err := securityOpts(pod, c)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", c.Name, err)
	}

	steps.Mark("envMountsSecurity")
	id := newID()
	logPath := r.LogPath(pod, c.Name, opts.RestartCount)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return "", fmt.Errorf("create container %s: log dir: %w", c.Name, err)
	}
	ns := func(t specs.LinuxNamespaceType, file string) oci.SpecOpts {
		return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: t, Path: fmt.Sprintf("/proc/%d/ns/%s", sb.PID, file)})
	}
	specOpts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		withoutRlimits,
		oci.WithProcessArgs(args...),
		oci.WithEnv(envList),
		withTerminal(c.TTY),
		oci.WithCgroup(sb.CgroupParent + "/" + id),
		oci.WithMounts(mounts),
		ns(specs.UTSNamespace, "uts"),
		withShimGroup(sb.ID),
	}
	if c.WorkingDir != "" {
		specOpts = append(specOpts, oci.WithProcessCwd(c.WorkingDir))
	}
	if sb.NetNSPath != "" {
		specOpts = append(specOpts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNSPath}))
	} else {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.NetworkNamespace))
	}
	if pod.Spec.HostIPC {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.IPCNamespace))
	} else {
		specOpts = append(specOpts, ns(specs.IPCNamespace, "ipc"))
	}
	switch {
	case pod.Spec.HostPID:
		specOpts = append(specOpts, oci.WithHostNamespace(specs.PIDNamespace))
	case sb.SharePID:
		specOpts = append(specOpts, ns(specs.PIDNamespace, "pid"))
	}
	specOpts = append(specOpts, resourceOpts(PodQOSClass(pod), c, r.memTotal)...)
	specOpts = append(specOpts, secOpts...)

	labels := map[string]string{
		LabelKind:          KindContainer,
		LabelPodUID:        string(pod.UID),
		LabelPodName:       pod.Name,
		LabelPodNamespace:  pod.Namespace,
		LabelSandboxID:     sb.ID,
		LabelContainerName: c.Name,
		LabelContainerType: string(opts.Type),
		LabelRestartCount:  strconv.Itoa(opts.RestartCount),
		LabelLogPath:       logPath,
		LabelImage:         c.Image,
		LabelCgroupParent:  sb.CgroupParent,
		LabelStdio:         stdioMode(c.Stdin, c.TTY),
	}
	if c.Stdin {
		labels[LabelStdin] = "true"
	}
	if c.StdinOnce {
		labels[LabelStdinOnce] = "true"
	}
	if c.TTY {
		labels[LabelTTY] = "true"
	}
	_, err = r.client.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithSnapshotter(r.cfg.Snapshotter),
		client.WithNewSnapshot(id, img),
		client.WithRuntime(runcRuntime, &options.Options{Root: r.runcRoot}),
		client.WithNewSpec(specOpts...),
		client.WithContainerLabels(labels),
	)
	if err != nil {
		// A failed spec option may leave the snapshot behind.
		_ = r.client.SnapshotService(r.cfg.Snapshotter).Remove(ctx, id)
		return "", fmt.Errorf("create container %s: %w", c.Name, err)
	}
	steps.Mark("newContainer")
	klog.FromContext(ctx).V(1).Info("Created container", "pod", klog.KObj(pod), "container", c.Name, "id", id)
	steps.Log(klog.FromContext(ctx), "Create container timing", "container", c.Name, "id", id)
	return id, nil
}

// containerArgs combines the pod's command and args with the image's
// entrypoint and cmd as container runtimes do: a command replaces the
// entrypoint and drops the image's cmd; args replace the cmd.
func containerArgs(command, args, entrypoint, cmd []string) []string {
	if len(command) == 0 {
		if len(args) == 0 {
			args = cmd
		}
		if !(len(entrypoint) == 1 && entrypoint[0] == "") {
			command = entrypoint
		}
	}
	return append(append([]string{}, command...), args...)
}

// withTerminal gives the process a terminal (and TERM=xterm) when tty is
// set, as CRI does for a container with tty: true.
func withTerminal(tty bool) oci.SpecOpts {
	if tty {
		return oci.WithTTY
	}
	return func(context.Context, oci.Client, *containers.Container, *oci.Spec) error { return nil }
}

// StartContainer starts a created container. A container without stdin or
// terminal has its output written by the shim's CRI log writer to its log
// file; one with stdin or a terminal gets FIFOs held by this Runtime, which
// copies the output to the log and to attached streams. A container whose
// process cannot be started is recorded as exited with reason StartError.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	steps := NewSteps()
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	var creator cio.Creator
	var ci *containerIO
	if labels[LabelStdio] == StdioFIFO {
		ci, err = openContainerIO(ctx, r.fifoDir, id, labels[LabelLogPath], labels[LabelStdin] == "true",
			labels[LabelTTY] == "true", labels[LabelStdinOnce] == "true", r.stdinCloser(id))
		if err != nil {
			return fmt.Errorf("start container %s: %w", id, err)
		}
		r.iosMu.Lock()
		r.ios[id] = ci
		r.iosMu.Unlock()
		creator = func(string) (cio.IO, error) { return ci.dio, nil }
	} else {
		creator = cio.BinaryIO(r.cfg.LoggerBinary, map[string]string{LoggerArg: labels[LabelLogPath]})
	}
	steps.Mark("load")
	task, err := c.NewTask(ctx, creator)
	if err != nil {
		err = fmt.Errorf("start container %s: create task: %w", id, err)
		r.recordStartError(ctx, c, err)
		return err
	}
	steps.Mark("newTask")
	// Taken before Start: a short-lived process may exit before Start returns.
	startedAt := time.Now().UTC()
	if err := task.Start(ctx); err != nil {
		_, _ = task.Delete(ctx, client.WithProcessKill)
		err = fmt.Errorf("start container %s: %w", id, err)
		r.recordStartError(ctx, c, err)
		return err
	}
	steps.Mark("startTask")
	if _, err := c.SetLabels(ctx, map[string]string{LabelStartedAt: startedAt.Format(time.RFC3339Nano)}); err != nil {
		return fmt.Errorf("start container %s: record start time: %w", id, err)
	}
	steps.Mark("setLabels")
	steps.Log(klog.FromContext(ctx), "Start container timing", "id", id)
	return nil
}

// recordStartError marks a container whose process could not be started
// as exited with StartError, so that it is restarted with back-off like a
// crashed one, and releases its stdio.
func (r *Runtime) recordStartError(ctx context.Context, c client.Container, startErr error) {
	msg := startErr.Error()
	if len(msg) > maxMessageLabel {
		msg = msg[:maxMessageLabel]
	}
	_, err := c.SetLabels(context.WithoutCancel(ctx), map[string]string{
		LabelExitCode:   strconv.Itoa(StartErrorExitCode),
		LabelFinishedAt: time.Now().UTC().Format(time.RFC3339Nano),
		LabelReason:     ReasonStartError,
		LabelMessage:    msg,
	})
	if err != nil {
		klog.FromContext(ctx).Error(err, "Recording the start error failed", "containerID", c.ID())
	}
	r.releaseIO(c.ID(), false)
}

// ContainerStatus reports a container's state. A container found exited is
// finalized: its exit code, time and reason are recorded in its labels and
// its task (and shim) released, so the status stays available.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (*ContainerStatus, error) {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("status of container %s: %w", id, err)
	}
	return r.statusOf(ctx, c)
}

func (r *Runtime) statusOf(ctx context.Context, c client.Container) (*ContainerStatus, error) {
	info, err := c.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return nil, fmt.Errorf("status of container %s: %w", c.ID(), err)
	}
	l := info.Labels
	st := &ContainerStatus{
		ID:        c.ID(),
		SandboxID: l[LabelSandboxID],
		PodUID:    types.UID(l[LabelPodUID]),
		Name:      l[LabelContainerName],
		Type:      ContainerType(l[LabelContainerType]),
		Image:     l[LabelImage],
		ImageRef:  info.Image,
		LogPath:   l[LabelLogPath],
		CreatedAt: info.CreatedAt,
		State:     ContainerCreated,
	}
	st.RestartCount, _ = strconv.Atoi(l[LabelRestartCount])
	if img, err := r.client.ImageService().Get(ctx, info.Image); err == nil {
		st.ImageID = img.Target.Digest.String()
	}
	st.StartedAt = parseTime(l[LabelStartedAt])

	task, err := c.Task(ctx, nil)
	var ts client.Status
	if err == nil {
		ts, err = task.Status(ctx)
	}
	if errdefs.IsNotFound(err) {
		// The task may have been deleted (finalized by another caller)
		// since the labels were read: read them again.
		info, ierr := c.Info(ctx, client.WithoutRefreshedMetadata)
		if ierr != nil {
			return nil, fmt.Errorf("status of container %s: %w", c.ID(), ierr)
		}
		l = info.Labels
	}
	switch {
	case err == nil:
		switch ts.Status {
		case client.Running, client.Paused, client.Pausing:
			st.State, st.PID = ContainerRunning, task.Pid()
			if _, err := r.containerIOFor(ctx, c, l); err != nil {
				klog.FromContext(ctx).Error(err, "Container output is not being logged", "containerID", c.ID())
			}
			return st, nil
		case client.Created:
			return st, nil
		}
		if r.deletingTask(c.ID()) && l[LabelExitCode] != "" {
			break // recorded; its task is being deleted
		}
		if l, err = r.finalize(ctx, c, task, ts, l[LabelCgroupParent]); err != nil {
			return nil, err
		}
	case !errdefs.IsNotFound(err):
		return nil, fmt.Errorf("status of container %s: %w", c.ID(), err)
	case l[LabelStartedAt] == "" && l[LabelReason] == "":
		return st, nil // never started
	}
	st.State = ContainerExited
	st.FinishedAt = parseTime(l[LabelFinishedAt])
	st.Reason = l[LabelReason]
	st.Message = l[LabelMessage]
	if code, err := strconv.Atoi(l[LabelExitCode]); err == nil {
		st.ExitCode = int32(code)
	} else {
		// Started, but the task vanished without a recorded exit (its
		// shim died): report it as upstream reports lost containers.
		st.ExitCode, st.Reason = 255, ReasonUnknown
	}
	return st, nil
}

// finalize records an exited task's result in the container's labels and
// deletes the task.
func (r *Runtime) finalize(ctx context.Context, c client.Container, task client.Task, ts client.Status, cgroupParent string) (map[string]string, error) {
	code := int(ts.ExitStatus)
	reason := ReasonError
	switch {
	case oomKilled(cgroupParent + "/" + c.ID()):
		reason = ReasonOOMKilled
	case code == 0:
		reason = ReasonCompleted
	}
	finished := ts.ExitTime
	if finished.IsZero() {
		finished = time.Now()
	}
	l, err := c.SetLabels(ctx, map[string]string{
		LabelExitCode:   strconv.Itoa(code),
		LabelFinishedAt: finished.UTC().Format(time.RFC3339Nano),
		LabelReason:     reason,
	})
	if err != nil {
		return nil, fmt.Errorf("record exit of container %s: %w", c.ID(), err)
	}
	r.deleteTaskInBackground(ctx, c.ID(), task)
	return l, nil
}

// taskDeleteTimeout bounds a background deletion of an exited task.
const taskDeleteTimeout = time.Minute

// deleteTaskInBackground deletes an exited task whose result is recorded
// in its container's labels, without holding up the status: a task that
// exited while containerd was down (a kubelet restart) takes containerd
// 1.6 about a second to delete, which would delay the restarted
// kubelet's first status of the pod by as much. RemoveContainer waits for
// it. A failed deletion is retried by the next status that finds the task.
func (r *Runtime) deleteTaskInBackground(ctx context.Context, id string, task client.Task) {
	r.taskDeletesMu.Lock()
	if _, busy := r.taskDeletes[id]; busy {
		r.taskDeletesMu.Unlock()
		return
	}
	if r.taskDeletes == nil {
		r.taskDeletes = map[string]chan struct{}{}
	}
	done := make(chan struct{})
	r.taskDeletes[id] = done
	r.taskDeletesMu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), taskDeleteTimeout)
	r.taskDeletesWG.Go(func() {
		defer cancel()
		defer func() {
			r.taskDeletesMu.Lock()
			delete(r.taskDeletes, id)
			r.taskDeletesMu.Unlock()
			close(done)
		}()
		if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			klog.FromContext(ctx).Error(err, "Delete exited task", "containerID", id)
			return
		}
		r.releaseIO(id, true)
	})
}

// deletingTask reports whether the exited task of container id is being
// deleted in the background.
func (r *Runtime) deletingTask(id string) bool {
	r.taskDeletesMu.Lock()
	defer r.taskDeletesMu.Unlock()
	_, ok := r.taskDeletes[id]
	return ok
}

// waitTaskDeleted waits for a background deletion of container id's task.
func (r *Runtime) waitTaskDeleted(ctx context.Context, id string) {
	r.taskDeletesMu.Lock()
	done := r.taskDeletes[id]
	r.taskDeletesMu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// WaitContainer blocks until a started container exits (or ctx ends) and
// returns its final status.
func (r *Runtime) WaitContainer(ctx context.Context, id string) (*ContainerStatus, error) {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, id)
	if err != nil {
		return nil, fmt.Errorf("wait for container %s: %w", id, err)
	}
	task, err := c.Task(nctx, nil)
	if err == nil {
		exitC, err := task.Wait(nctx)
		if err != nil {
			return nil, fmt.Errorf("wait for container %s: %w", id, err)
		}
		select {
		case <-exitC:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for container %s: %w", id, ctx.Err())
		}
	} else if !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("wait for container %s: %w", id, err)
	}
	return r.statusOf(nctx, c)
}

// StopContainer sends the container SIGTERM, then SIGKILL once grace has
// passed, and waits for it to exit. Stopping a stopped container is a no-op.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	exitC, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if grace > 0 {
		if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
		select {
		case <-exitC:
			_, err := r.statusOf(ctx, c)
			return err
		case <-time.After(grace):
		case <-ctx.Done():
			return fmt.Errorf("stop container %s: %w", id, ctx.Err())
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	select {
	case <-exitC:
	case <-ctx.Done():
		return fmt.Errorf("stop container %s: %w", id, ctx.Err())
	}
	_, err = r.statusOf(ctx, c)
	return err
}

// RemoveContainer kills the container if needed and deletes it with its
// snapshot. Its log file stays.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	r.waitTaskDeleted(ctx, id)
	if err := killTask(ctx, c); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	if err := c.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	r.releaseIO(id, true)
	return nil
}

// ListPodContainers returns the status of every container (not the
// sandbox) of a pod, in creation order.
func (r *Runtime) ListPodContainers(ctx context.Context, uid types.UID) ([]*ContainerStatus, error) {
	ctx = r.ns(ctx)
	cs, err := r.client.Containers(ctx, fmt.Sprintf(`labels."%s"==%s,labels."%s"==%s`, LabelKind, KindContainer, LabelPodUID, uid))
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s: %w", uid, err)
	}
	out := make([]*ContainerStatus, 0, len(cs))
	for _, c := range cs {
		st, err := r.statusOf(ctx, c)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	sortByCreation(out)
	return out, nil
}

// StopPod stops the pod's containers (SIGTERM, SIGKILL after grace), then
// its sandbox, and releases its network. Containers stay for their status.
func (r *Runtime) StopPod(ctx context.Context, uid types.UID, grace time.Duration) error {
	sts, err := r.ListPodContainers(ctx, uid)
	if err != nil {
		return err
	}
	var errs []error
	done := make(chan error, len(sts))
	for _, st := range sts {
		go func() { done <- r.StopContainer(ctx, st.ID, grace) }()
	}
	for range sts {
		if err := <-done; err != nil {
			errs = append(errs, err)
		}
	}
	steps := NewSteps()
	defer steps.Log(klog.FromContext(ctx), "Stop pod timing")
	steps.Mark("containers")
	sb, err := r.GetPodSandbox(ctx, uid)
	switch {
	case err == nil:
		c, err := r.client.LoadContainer(r.ns(ctx), sb.ID)
		if err == nil {
			err = killTask(r.ns(ctx), c)
		}
		if err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
		steps.Mark("killSandbox")
		if r.cfg.Network != nil && sb.NetNSPath != "" {
			if err := r.cfg.Network.TearDown(ctx, sb.ID); err != nil {
				errs = append(errs, err)
			}
		}
		steps.Mark("network")
	case !errdefs.IsNotFound(err):
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RemovePod removes everything of a pod: containers, sandbox, network,
// volumes, the pod directory and the pod cgroup. Logs stay.
func (r *Runtime) RemovePod(ctx context.Context, uid types.UID) error {
	ctx = r.ns(ctx)
	cs, err := r.client.Containers(ctx, fmt.Sprintf(`labels."%s"==%s`, LabelPodUID, uid))
	if err != nil {
		return fmt.Errorf("remove pod %s: %w", uid, err)
	}
	var errs []error
	cgroups := map[string]bool{}
	for _, c := range cs {
		l, _ := c.Labels(ctx)
		if p := l[LabelCgroupParent]; p != "" {
			cgroups[p] = true
		}
		if l[LabelKind] == KindSandbox {
			if err := r.removeSandbox(ctx, c.ID()); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := r.RemoveContainer(ctx, c.ID()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.removePodDir(uid); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		for p := range cgroups {
			if err := removeCgroupTree(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Reconcile removes what belongs to pods not in wanted: containers and
// sandboxes, network namespaces and IPs of sandboxes that no longer exist,
// pod directories and pod cgroups. The kubelet calls it on startup with the
// UIDs of the pods bound to its node.
func (r *Runtime) Reconcile(ctx context.Context, wanted map[types.UID]bool) error {
	ctx = r.ns(ctx)
	log := klog.FromContext(ctx)
	cs, err := r.client.Containers(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: list containers: %w", err)
	}
	var errs []error
	keepSandbox := map[string]bool{}
	gone := map[types.UID]bool{}
	for _, c := range cs {
		l, err := c.Labels(ctx)
		if err != nil {
			continue
		}
		uid := types.UID(l[LabelPodUID])
		if l[LabelKind] == "" {
			continue // not Skiff's
		}
		if wanted[uid] {
			if l[LabelKind] == KindSandbox {
				keepSandbox[c.ID()] = true
			}
			continue
		}
		gone[uid] = true
	}
	for uid := range gone {
		log.Info("Removing leftover pod", "podUID", uid)
		if err := r.RemovePod(ctx, uid); err != nil {
			errs = append(errs, err)
		}
	}
	if r.cfg.Network != nil {
		if _, err := r.cfg.Network.Reconcile(ctx, func(id string) bool { return keepSandbox[id] }); err != nil {
			errs = append(errs, err)
		}
	}
	entries, _ := os.ReadDir(r.podsDir)
	for _, e := range entries {
		if uid := types.UID(e.Name()); !wanted[uid] {
			if err := r.removePodDir(uid); err != nil {
				errs = append(errs, err)
			}
		}
	}
	cgs, err := podCgroupUIDs(r.cfg.CgroupRoot)
	if err != nil {
		errs = append(errs, err)
	}
	for uid, p := range cgs {
		if !wanted[uid] {
			if err := removeCgroupTree(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func sortByCreation(s []*ContainerStatus) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].CreatedAt.Before(s[j-1].CreatedAt); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
