package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

	"github.com/skiff-dev/skiff/kubelet/network"
)

// Sandbox is a pod's sandbox: its network namespace and the container
// holding its IPC, UTS (and shared PID) namespaces.
type Sandbox struct {
	ID           string
	PodUID       types.UID
	PodName      string
	PodNamespace string
	// NetNSPath is the pinned network namespace; empty on the host network.
	NetNSPath string
	// IPs are the pod's addresses; empty on the host network.
	IPs []net.IP
	// CgroupParent is the pod cgroup, e.g. /kubepods/burstable/pod<uid>.
	CgroupParent string
	Hostname     string
	// SharePID is spec.shareProcessNamespace.
	SharePID bool
	// PID of the sandbox process (0 when it is not running).
	PID uint32
	// Dir is the pod's directory (hosts, resolv.conf, volumes).
	Dir string
}

// IPStrings returns the pod IPs as strings.
func (s *Sandbox) IPStrings() []string {
	out := make([]string, len(s.IPs))
	for i, ip := range s.IPs {
		out[i] = ip.String()
	}
	return out
}

// PodDir is the pod's directory under the data dir.
func (r *Runtime) PodDir(uid types.UID) string { return filepath.Join(r.podsDir, string(uid)) }

// RunPodSandbox sets up the pod's volumes (a failure is a *VolumeError),
// creates its cgroup, network namespace (with an IP from the pod CIDR),
// hosts, hostname and resolv.conf files, and starts the sandbox container.
// It returns the DNS warnings to report as events. On failure nothing is
// left behind.
func (r *Runtime) RunPodSandbox(ctx context.Context, pod *corev1.Pod) (_ *Sandbox, warnings []string, retErr error) {
	ctx = r.ns(ctx)
	log := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod))
	steps := NewSteps()
	if pod.UID == "" {
		return nil, nil, errors.New("run pod sandbox: pod has no UID")
	}
	// Volumes first: a failure (a *VolumeError) leaves nothing to undo.
	if err := os.MkdirAll(r.PodDir(pod.UID), 0o750); err != nil {
		return nil, nil, fmt.Errorf("create pod dir: %w", err)
	}
	if err := r.SetUpVolumes(ctx, pod); err != nil {
		return nil, nil, err
	}
	steps.Mark("volumes")
	hostname, domain, err := PodHostnameAndDomain(pod, r.cfg.DNS.ClusterDomain)
	if err != nil {
		return nil, nil, fmt.Errorf("run sandbox for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	dns, warnings, err := PodDNS(pod, r.cfg.DNS)
	if err != nil {
		return nil, nil, fmt.Errorf("run sandbox for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	image, err := r.ensureSandboxImage(ctx)
	if err != nil {
		return nil, warnings, err
	}
	steps.Mark("sandboxImage")
	sb := &Sandbox{
		ID:           newID(),
		PodUID:       pod.UID,
		PodName:      pod.Name,
		PodNamespace: pod.Namespace,
		CgroupParent: PodCgroupParent(r.cfg.CgroupRoot, PodQOSClass(pod), pod.UID),
		Hostname:     hostname,
		SharePID:     pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace,
		Dir:          r.PodDir(pod.UID),
	}
	defer func() {
		if retErr != nil {
			if err := r.removeSandbox(context.WithoutCancel(ctx), sb.ID); err != nil {
				log.Error(err, "Undo failed sandbox", "sandbox", sb.ID)
			}
		}
	}()
	if err := ensurePodCgroup(sb.CgroupParent, computePodCgroupLimits(pod)); err != nil {
		return nil, warnings, fmt.Errorf("create pod cgroup: %w", err)
	}
	steps.Mark("cgroup")
	if !pod.Spec.HostNetwork {
		if r.cfg.Network == nil {
			return nil, warnings, errors.New("run pod sandbox: no pod network configured")
		}
		att, err := r.cfg.Network.SetUp(ctx, sb.ID, network.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)})
		if err != nil {
			return nil, warnings, err
		}
		sb.NetNSPath, sb.IPs = att.NetNSPath, att.IPs
		steps.Mark("network")
	}
	hosts, err := HostsFile(pod, sb.IPStrings(), hostname, domain, r.cfg.NodeHostsFile)
	if err != nil {
		return nil, warnings, err
	}
	files := map[string][]byte{"etc-hosts": hosts, "resolv.conf": []byte(dns.String()), "hostname": []byte(hostname + "\n")}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(sb.Dir, name), content, 0o644); err != nil {
			return nil, warnings, fmt.Errorf("write pod %s: %w", name, err)
		}
	}

	labels := map[string]string{
		LabelKind:         KindSandbox,
		LabelPodUID:       string(pod.UID),
		LabelPodName:      pod.Name,
		LabelPodNamespace: pod.Namespace,
		LabelNetNS:        sb.NetNSPath,
		LabelPodIPs:       strings.Join(sb.IPStrings(), ","),
		LabelCgroupParent: sb.CgroupParent,
		LabelHostname:     hostname,
		LabelSharePID:     strconv.FormatBool(sb.SharePID),
	}
	steps.Mark("files")
	cimg, err := r.client.GetImage(ctx, image.Name)
	if err != nil {
		return nil, warnings, fmt.Errorf("load sandbox image: %w", err)
	}
	steps.Mark("getImage")
	specOpts := []oci.SpecOpts{
		oci.WithImageConfig(cimg),
		oci.WithProcessArgs(sandboxCommand...),
		oci.WithHostname(hostname),
		oci.WithCgroup(sb.CgroupParent + "/" + sb.ID),
		oci.WithCPUShares(minCPUShares),
		oci.WithCapabilities(nil),
		oci.WithNoNewPrivileges,
		oci.WithRootFSReadonly(),
		withoutRlimits,
		withShimGroup(sb.ID),
	}
	if sb.NetNSPath != "" {
		specOpts = append(specOpts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNSPath}))
	} else {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf)
	}
	if pod.Spec.HostIPC {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.IPCNamespace))
	}
	if pod.Spec.HostPID {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	c, err := r.client.NewContainer(ctx, sb.ID,
		client.WithImage(cimg),
		client.WithSnapshotter(r.cfg.Snapshotter),
		client.WithNewSnapshot(sb.ID, cimg),
		client.WithRuntime(runcRuntime, &options.Options{Root: r.runcRoot}),
		client.WithNewSpec(specOpts...),
		client.WithContainerLabels(labels),
	)
	if err != nil {
		return nil, warnings, fmt.Errorf("create sandbox container: %w", err)
	}
	steps.Mark("newContainer")
	task, err := c.NewTask(ctx, cio.NullIO)
	if err != nil {
		return nil, warnings, fmt.Errorf("create sandbox task: %w", err)
	}
	steps.Mark("newTask")
	if err := task.Start(ctx); err != nil {
		return nil, warnings, fmt.Errorf("start sandbox: %w", err)
	}
	steps.Mark("startTask")
	sb.PID = task.Pid()
	log.V(1).Info("Started pod sandbox", "sandbox", sb.ID, "ips", sb.IPStrings(), "cgroup", sb.CgroupParent)
	steps.Log(log, "Pod sandbox timing", "sandbox", sb.ID)
	return sb, warnings, nil
}

// shimGroupAnnotation makes containerd's runc v2 shim serve every
// container whose spec names the same group from one shim process (its
// StartShim connects to the group's socket instead of serving a new one).
// Skiff groups a pod's containers under its sandbox ID, as containerd's CRI
// plugin does (with io.kubernetes.cri.sandbox-id, the shim's other group
// key): one long-lived shim per pod instead of one per container.
const shimGroupAnnotation = "io.containerd.runc.v2.group"

func withShimGroup(sandboxID string) oci.SpecOpts {
	return oci.WithAnnotations(map[string]string{shimGroupAnnotation: sandboxID})
}

func withoutRlimits(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	s.Process.Rlimits = nil
	return nil
}

// GetPodSandbox finds the sandbox of a pod, running or not, from
// containerd's records; errdefs.IsNotFound holds when there is none.
func (r *Runtime) GetPodSandbox(ctx context.Context, uid types.UID) (*Sandbox, error) {
	ctx = r.ns(ctx)
	cs, err := r.client.Containers(ctx, fmt.Sprintf(`labels."%s"==%s,labels."%s"==%s`, LabelKind, KindSandbox, LabelPodUID, uid))
	if err != nil {
		return nil, fmt.Errorf("list sandboxes of pod %s: %w", uid, err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("sandbox of pod %s: %w", uid, errdefs.ErrNotFound)
	}
	return r.sandboxFromContainer(ctx, cs[0])
}

func (r *Runtime) sandboxFromContainer(ctx context.Context, c client.Container) (*Sandbox, error) {
	l, err := c.Labels(ctx)
	if err != nil {
		return nil, fmt.Errorf("labels of sandbox %s: %w", c.ID(), err)
	}
	sb := &Sandbox{
		ID:           c.ID(),
		PodUID:       types.UID(l[LabelPodUID]),
		PodName:      l[LabelPodName],
		PodNamespace: l[LabelPodNamespace],
		NetNSPath:    l[LabelNetNS],
		CgroupParent: l[LabelCgroupParent],
		Hostname:     l[LabelHostname],
		SharePID:     l[LabelSharePID] == "true",
		Dir:          r.PodDir(types.UID(l[LabelPodUID])),
	}
	for _, s := range strings.Split(l[LabelPodIPs], ",") {
		if ip := net.ParseIP(s); ip != nil {
			sb.IPs = append(sb.IPs, ip)
		}
	}
	if t, err := c.Task(ctx, nil); err == nil {
		if st, err := t.Status(ctx); err == nil && st.Status == client.Running {
			sb.PID = t.Pid()
		}
	}
	return sb, nil
}

// SandboxReady reports whether the sandbox process runs and its network
// namespace is still in place.
func (r *Runtime) SandboxReady(ctx context.Context, sb *Sandbox) bool {
	fresh, err := r.GetPodSandbox(ctx, sb.PodUID)
	if err != nil || fresh.ID != sb.ID || fresh.PID == 0 {
		return false
	}
	if sb.NetNSPath != "" {
		if _, err := os.Stat(sb.NetNSPath); err != nil {
			return false
		}
	}
	return true
}

// killTask kills a container's task, if any, and deletes it.
func killTask(ctx context.Context, c client.Container) error {
	t, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load task of %s: %w", c.ID(), err)
	}
	st, err := t.Status(ctx)
	if err == nil && st.Status != client.Stopped {
		exitC, werr := t.Wait(ctx)
		if err := t.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("kill %s: %w", c.ID(), err)
		}
		if werr == nil {
			select {
			case <-exitC:
			case <-time.After(10 * time.Second):
				return fmt.Errorf("kill %s: task did not exit within 10s", c.ID())
			}
		}
	}
	if _, err := t.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task of %s: %w", c.ID(), err)
	}
	return nil
}

// removeSandbox kills and removes the sandbox container id and tears down
// its network. Missing pieces are skipped.
func (r *Runtime) removeSandbox(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	var errs []error
	c, err := r.client.LoadContainer(ctx, id)
	switch {
	case err == nil:
		if err := killTask(ctx, c); err != nil {
			errs = append(errs, err)
		}
		if err := c.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete sandbox container %s: %w", id, err))
		}
	case !errdefs.IsNotFound(err):
		errs = append(errs, fmt.Errorf("load sandbox %s: %w", id, err))
	}
	if r.cfg.Network != nil {
		if err := r.cfg.Network.TearDown(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
