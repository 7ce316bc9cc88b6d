package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/mountinfo"
)

// Volume directories under the pod dir, named after upstream's plugins.
const (
	emptyDirPlugin    = "kubernetes.io~empty-dir"
	configMapPlugin   = "kubernetes.io~configmap"
	secretPlugin      = "kubernetes.io~secret"
	downwardAPIPlugin = "kubernetes.io~downward-api"
	projectedPlugin   = "kubernetes.io~projected"
)

// volumeDir is the host directory of a pod volume, or "" for kinds this
// package does not handle.
func (r *Runtime) volumeDir(uid types.UID, v *corev1.Volume) string {
	base := filepath.Join(r.PodDir(uid), "volumes")
	switch {
	case v.EmptyDir != nil:
		return filepath.Join(base, emptyDirPlugin, v.Name)
	case v.HostPath != nil:
		return v.HostPath.Path
	case v.ConfigMap != nil:
		return filepath.Join(base, configMapPlugin, v.Name)
	case v.Secret != nil:
		return filepath.Join(base, secretPlugin, v.Name)
	case v.DownwardAPI != nil:
		return filepath.Join(base, downwardAPIPlugin, v.Name)
	case v.Projected != nil:
		return filepath.Join(base, projectedPlugin, v.Name)
	}
	return ""
}

// SetUpVolumes prepares the pod's volumes on the host: emptyDir directories
// (tmpfs for medium Memory), hostPath type checks, and configMap, secret,
// downwardAPI and projected (service account token included) files written
// atomically (see WriteAtomic) from the objects Config.Objects returns.
// It is idempotent; calling it again refreshes the files, and a failure
// leaves a volume's previous content in place.
func (r *Runtime) SetUpVolumes(ctx context.Context, pod *corev1.Pod) error {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := r.setUpVolume(ctx, pod, v); err != nil {
			return &VolumeError{Err: fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)}
		}
	}
	return nil
}

// VolumeError is a failure to set up one of a pod's volumes (reported as
// FailedMount and retried with back-off), as SetUpVolumes and
// RunPodSandbox return it.
type VolumeError struct{ Err error }

func (e *VolumeError) Error() string { return e.Err.Error() }
func (e *VolumeError) Unwrap() error { return e.Err }

func (r *Runtime) setUpVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) error {
	dir := r.volumeDir(pod.UID, v)
	switch {
	case v.EmptyDir != nil:
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
		if v.EmptyDir.Medium == corev1.StorageMediumMemory && !isMountPoint(dir) {
			opts := "mode=0777"
			if l := v.EmptyDir.SizeLimit; l != nil && l.Value() > 0 {
				opts += ",size=" + strconv.FormatInt(l.Value(), 10)
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return fmt.Errorf("mount tmpfs: %w", err)
			}
		}
		return nil
	case v.HostPath != nil:
		return checkHostPath(v.HostPath)
	case v.ConfigMap != nil:
		src := v.ConfigMap
		payload, err := r.configMapPayload(ctx, pod, src.Name, src.Items, isTrue(src.Optional), fileMode(src.DefaultMode))
		if err != nil {
			return err
		}
		return WriteAtomic(dir, payload)
	case v.Secret != nil:
		src := v.Secret
		payload, err := r.secretPayload(ctx, pod, src.SecretName, src.Items, isTrue(src.Optional), fileMode(src.DefaultMode))
		if err != nil {
			return err
		}
		return WriteAtomic(dir, payload)
	case v.DownwardAPI != nil:
		payload, err := r.downwardAPIPayload(pod, v.DownwardAPI.Items, fileMode(v.DownwardAPI.DefaultMode))
		if err != nil {
			return err
		}
		return WriteAtomic(dir, payload)
	case v.Projected != nil:
		payload, err := r.projectedPayload(ctx, pod, v.Projected)
		if err != nil {
			return err
		}
		return WriteAtomic(dir, payload)
	}
	return nil
}

func fileMode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

// configMapPayload reads a ConfigMap into volume files; a missing optional
// one gives none.
func (r *Runtime) configMapPayload(ctx context.Context, pod *corev1.Pod, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode) (map[string]FileProjection, error) {
	if r.cfg.Objects == nil {
		return nil, fmt.Errorf("configmap %q not registered", pod.Namespace+"/"+name)
	}
	cm, err := r.cfg.Objects.GetConfigMap(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]FileProjection{}, nil
		}
		return nil, err
	}
	data := map[string][]byte{}
	for k, val := range cm.Data {
		data[k] = []byte(val)
	}
	for k, val := range cm.BinaryData {
		data[k] = val
	}
	return projectKeys(data, items, mode, optional, "configMap")
}

// secretPayload reads a Secret into volume files; a missing optional one
// gives none.
func (r *Runtime) secretPayload(ctx context.Context, pod *corev1.Pod, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode) (map[string]FileProjection, error) {
	if r.cfg.Objects == nil {
		return nil, fmt.Errorf("secret %q not registered", pod.Namespace+"/"+name)
	}
	s, err := r.cfg.Objects.GetSecret(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]FileProjection{}, nil
		}
		return nil, err
	}
	return projectKeys(s.Data, items, mode, optional, "secret")
}

// downwardAPIPayload resolves downward API items into volume files.
func (r *Runtime) downwardAPIPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode os.FileMode) (map[string]FileProjection, error) {
	payload := map[string]FileProjection{}
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = podFieldValue(pod, it.FieldRef.FieldPath, EnvContext{HostIPs: r.cfg.HostIPs})
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("container %q not found", it.ResourceFieldRef.ContainerName)
			}
			val, err = containerResourceValue(pod, c, it.ResourceFieldRef, nil)
		}
		if err != nil {
			return nil, err
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		payload[it.Path] = FileProjection{Data: []byte(val), Mode: m}
	}
	return payload, nil
}

// projectKeys turns the object's keys, or only the listed items under
// their paths, into volume files.
func projectKeys(data map[string][]byte, items []corev1.KeyToPath, mode os.FileMode, optional bool, kind string) (map[string]FileProjection, error) {
	payload := map[string]FileProjection{}
	if len(items) == 0 {
		for k, v := range data {
			payload[k] = FileProjection{Data: v, Mode: mode}
		}
		return payload, nil
	}
	for _, it := range items {
		val, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			if kind == "secret" {
				return nil, fmt.Errorf("secret references non-existent secret key: %s", it.Key)
			}
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		payload[it.Path] = FileProjection{Data: val, Mode: m}
	}
	return payload, nil
}

func safeRelPath(p string) error {
	if filepath.IsAbs(p) {
		return fmt.Errorf("error SubPath `%s` must not be an absolute path", p)
	}
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return fmt.Errorf("must not contain '..': %s", p)
		}
	}
	return nil
}

// checkHostPath applies a hostPath volume's type check, creating the path
// for the *OrCreate types.
func checkHostPath(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Stat(h.Path)
	exists := err == nil
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(h.Path, 0o755)
		}
		if !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
		}
		return nil
	case corev1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
		return nil
	}
	if !exists {
		return fmt.Errorf("hostPath type check failed: %s does not exist", h.Path)
	}
	mode := fi.Mode()
	var ok bool
	var what string
	switch t {
	case corev1.HostPathDirectory:
		ok, what = mode.IsDir(), "a directory"
	case corev1.HostPathFile:
		ok, what = mode.IsRegular(), "a file"
	case corev1.HostPathSocket:
		ok, what = mode&fs.ModeSocket != 0, "a socket file"
	case corev1.HostPathCharDev:
		ok, what = mode&fs.ModeCharDevice != 0, "a character device"
	case corev1.HostPathBlockDev:
		ok, what = mode&fs.ModeDevice != 0 && mode&fs.ModeCharDevice == 0, "a block device"
	default:
		return fmt.Errorf("invalid HostPathType %q", t)
	}
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not %s", h.Path, what)
	}
	return nil
}

// containerMounts lists the mounts of container c: the pod's hosts,
// hostname and resolv.conf files, its cgroups (read-only), and its
// volumeMounts.
func (r *Runtime) containerMounts(sb *Sandbox, pod *corev1.Pod, c *corev1.Container) ([]specs.Mount, error) {
	vols := map[string]*corev1.Volume{}
	for i := range pod.Spec.Volumes {
		vols[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	var mounts []specs.Mount
	targets := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		src := r.volumeDir(sb.PodUID, v)
		if src == "" {
			return nil, fmt.Errorf("volume %q of container %q has an unsupported type", vm.Name, c.Name)
		}
		readOnly := vm.ReadOnly || v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil
		if vm.SubPath != "" {
			if err := safeRelPath(vm.SubPath); err != nil {
				return nil, fmt.Errorf("unable to provision SubPath `%s`: %w", vm.SubPath, err)
			}
			src = filepath.Join(src, vm.SubPath)
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, fmt.Errorf("failed to create subPath directory for volumeMount %q of container %q", vm.Name, c.Name)
				}
			}
		}
		mounts = append(mounts, bindMount(src, vm.MountPath, readOnly))
		targets[filepath.Clean(vm.MountPath)] = true
	}
	for file, dst := range map[string]string{"etc-hosts": "/etc/hosts", "hostname": "/etc/hostname", "resolv.conf": "/etc/resolv.conf"} {
		if !targets[dst] {
			mounts = append(mounts, bindMount(filepath.Join(sb.Dir, file), dst, false))
		}
	}
	mounts = append(mounts, cgroupMount)
	return mounts, nil
}

// isMountPoint reports whether path is listed as a mount point.
func isMountPoint(path string) bool {
	for _, m := range mountsUnder(path) {
		if m == path {
			return true
		}
	}
	return false
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	ms, _ := mountinfo.Under(dir)
	return ms
}

// removePodDir unmounts whatever is mounted under the pod's directory
// (memory-backed emptyDirs) and deletes it. HostPath volumes live elsewhere
// and are never touched.
func (r *Runtime) removePodDir(uid types.UID) error {
	dir := r.PodDir(uid)
	for _, m := range mountsUnder(dir) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", m, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pod dir %s: %w", dir, err)
	}
	return nil
}
