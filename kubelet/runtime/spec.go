package runtime

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// defaultCapabilities are the capabilities a container gets unless its
// securityContext adds or drops some (containerd's and Docker's default set).
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func normalizeCap(c corev1.Capability) string {
	s := strings.ToUpper(string(c))
	if s == "ALL" || strings.HasPrefix(s, "CAP_") {
		return s
	}
	return "CAP_" + s
}

// capabilitySet applies a securityContext's add and drop lists to the
// default set; "ALL" in add grants every capability the host knows, "ALL"
// in drop starts from none.
func capabilitySet(caps *corev1.Capabilities) ([]string, error) {
	set := map[string]bool{}
	for _, c := range defaultCapabilities {
		set[c] = true
	}
	if caps != nil {
		all, err := cap.Current()
		if err != nil {
			return nil, fmt.Errorf("read host capabilities: %w", err)
		}
		for _, d := range caps.Drop {
			if n := normalizeCap(d); n == "ALL" {
				set = map[string]bool{}
			} else {
				delete(set, n)
			}
		}
		for _, a := range caps.Add {
			if n := normalizeCap(a); n == "ALL" {
				for _, c := range all {
					set[c] = true
				}
			} else {
				set[n] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for _, c := range sortedKeys(set) {
		out = append(out, c)
	}
	return out, nil
}

// effectiveSecurity merges the pod's securityContext into the container's,
// as the kubelet does for the fields both have.
type effectiveSecurity struct {
	runAsUser, runAsGroup *int64
	runAsNonRoot          *bool
	supplementalGroups    []int64
	sc                    *corev1.SecurityContext
}

func securityFor(pod *corev1.Pod, c *corev1.Container) effectiveSecurity {
	e := effectiveSecurity{sc: c.SecurityContext}
	if p := pod.Spec.SecurityContext; p != nil {
		e.runAsUser, e.runAsGroup, e.runAsNonRoot = p.RunAsUser, p.RunAsGroup, p.RunAsNonRoot
		e.supplementalGroups = append(e.supplementalGroups, p.SupplementalGroups...)
		if p.FSGroup != nil {
			e.supplementalGroups = append(e.supplementalGroups, *p.FSGroup)
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			e.runAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			e.runAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			e.runAsNonRoot = sc.RunAsNonRoot
		}
	}
	return e
}

// securityOpts turns the effective security context into spec options.
// They must run after the image config has set the user.
func securityOpts(pod *corev1.Pod, c *corev1.Container) ([]oci.SpecOpts, error) {
	e := securityFor(pod, c)
	sc := e.sc
	var opts []oci.SpecOpts
	privileged := sc != nil && sc.Privileged != nil && *sc.Privileged
	if privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices,
			oci.WithWriteableSysfs, oci.WithWriteableCgroupfs, oci.WithMaskedPaths(nil), oci.WithReadonlyPaths(nil))
	} else {
		var caps *corev1.Capabilities
		if sc != nil {
			caps = sc.Capabilities
		}
		set, err := capabilitySet(caps)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oci.WithCapabilities(set))
	}
	if e.runAsUser != nil {
		uid := uint32(*e.runAsUser)
		if e.runAsGroup != nil {
			opts = append(opts, oci.WithUIDGID(uid, uint32(*e.runAsGroup)))
		} else {
			opts = append(opts, oci.WithUserID(uid))
		}
	} else if e.runAsGroup != nil {
		gid := uint32(*e.runAsGroup)
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.User.GID = gid
			return nil
		})
	}
	groups := e.supplementalGroups
	opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, g := range groups {
			s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, uint32(g))
		}
		// The kubelet sets no_new_privs only when allowPrivilegeEscalation
		// is explicitly false.
		s.Process.NoNewPrivileges = sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && !privileged
		if e.runAsNonRoot != nil && *e.runAsNonRoot && s.Process.User.UID == 0 {
			if e.runAsUser != nil {
				return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", pod.Namespace+"/"+pod.Name, c.Name)
			}
			return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod.Namespace+"/"+pod.Name, c.Name)
		}
		return nil
	})
	if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	return opts, nil
}

// resourceOpts sets the container's cgroup limits: cpu.shares from the
// request, CFS quota from the CPU limit, the memory limit, and a
// non-negative oom_score_adj by QoS class.
func resourceOpts(qos corev1.PodQOSClass, c *corev1.Container, memCapacity int64) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithCPUShares(milliCPUToShares(cpuRequestMilli(c)))}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		if quota := milliCPUToQuota(q.MilliValue()); quota > 0 {
			opts = append(opts, oci.WithCPUCFS(quota, cfsPeriodUS))
		}
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && q.Value() > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(q.Value())))
	}
	if adj := oomScoreAdj(qos, c, memCapacity); adj != nil {
		v := *adj
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.OOMScoreAdj = &v
			return nil
		})
	}
	return opts
}

// cgroupMount gives the container a read-only view of its cgroups.
var cgroupMount = specs.Mount{
	Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
	Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"},
}

func bindMount(src, dst string, readOnly bool) specs.Mount {
	opts := []string{"rbind", "rprivate"}
	if readOnly {
		opts = append(opts, "ro")
	} else {
		opts = append(opts, "rw")
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}
