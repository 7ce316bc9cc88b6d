package runtime

import (
	"bufio"
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
)

// Volume directories under the pod dir, named after upstream's plugins.
const (
	emptyDirPlugin    = "kubernetes.io~empty-dir"
	configMapPlugin   = "kubernetes.io~configmap"
	secretPlugin      = "kubernetes.io~secret"
	downwardAPIPlugin = "kubernetes.io~downward-api"
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
	}
	return ""
}

// SetUpVolumes prepares the pod's volumes on the host: emptyDir directories
// (tmpfs for medium Memory), hostPath type checks, and configMap, secret
// and downwardAPI files written from the objects Config.Objects returns.
// It is idempotent; calling it again refreshes the projected files.
func (r *Runtime) SetUpVolumes(ctx context.Context, pod *corev1.Pod) error {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := r.setUpVolume(ctx, pod, v); err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)
		}
	}
	return nil
}

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
		files := map[string][]byte{}
		if r.cfg.Objects == nil {
			return fmt.Errorf("configmap %q not registered", pod.Namespace+"/"+src.Name)
		}
		cm, err := r.cfg.Objects.GetConfigMap(ctx, pod.Namespace, src.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(src.Optional) {
				return writeVolumeFiles(dir, nil, 0o644)
			}
			return err
		}
		for k, val := range cm.Data {
			files[k] = []byte(val)
		}
		for k, val := range cm.BinaryData {
			files[k] = val
		}
		return projectKeys(dir, files, src.Items, src.DefaultMode, isTrue(src.Optional), "configMap")
	case v.Secret != nil:
		src := v.Secret
		if r.cfg.Objects == nil {
			return fmt.Errorf("secret %q not registered", pod.Namespace+"/"+src.SecretName)
		}
		s, err := r.cfg.Objects.GetSecret(ctx, pod.Namespace, src.SecretName)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(src.Optional) {
				return writeVolumeFiles(dir, nil, 0o644)
			}
			return err
		}
		return projectKeys(dir, s.Data, src.Items, src.DefaultMode, isTrue(src.Optional), "secret")
	case v.DownwardAPI != nil:
		files := map[string][]byte{}
		modes := map[string]os.FileMode{}
		for _, it := range v.DownwardAPI.Items {
			var val string
			var err error
			switch {
			case it.FieldRef != nil:
				val, err = podFieldValue(pod, it.FieldRef.FieldPath, EnvContext{HostIPs: r.cfg.HostIPs})
			case it.ResourceFieldRef != nil:
				c := findContainer(pod, it.ResourceFieldRef.ContainerName)
				if c == nil {
					return fmt.Errorf("container %q not found", it.ResourceFieldRef.ContainerName)
				}
				val, err = containerResourceValue(pod, c, it.ResourceFieldRef, nil)
			}
			if err != nil {
				return err
			}
			files[it.Path] = []byte(val)
			if it.Mode != nil {
				modes[it.Path] = os.FileMode(*it.Mode)
			}
		}
		return writeVolumeFilesModes(dir, files, fileMode(v.DownwardAPI.DefaultMode), modes)
	}
	return nil
}

func fileMode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

// projectKeys writes the object's keys, or only the listed items under
// their paths, into dir.
func projectKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, optional bool, kind string) error {
	files := map[string][]byte{}
	modes := map[string]os.FileMode{}
	if len(items) == 0 {
		files = data
	}
	for _, it := range items {
		val, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			if kind == "secret" {
				return fmt.Errorf("secret references non-existent secret key: %s", it.Key)
			}
			return fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		files[it.Path] = val
		if it.Mode != nil {
			modes[it.Path] = os.FileMode(*it.Mode)
		}
	}
	return writeVolumeFilesModes(dir, files, fileMode(defaultMode), modes)
}

func writeVolumeFiles(dir string, files map[string][]byte, mode os.FileMode) error {
	return writeVolumeFilesModes(dir, files, mode, nil)
}

// writeVolumeFilesModes replaces dir's content with files.
func writeVolumeFilesModes(dir string, files map[string][]byte, mode os.FileMode, modes map[string]os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	for p, content := range files {
		if err := safeRelPath(p); err != nil {
			return err
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		m := mode
		if fm, ok := modes[p]; ok {
			m = fm
		}
		if err := os.WriteFile(full, content, m); err != nil {
			return err
		}
		if err := os.Chmod(full, m); err != nil {
			return err
		}
	}
	return nil
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
		readOnly := vm.ReadOnly || v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil
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
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
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
