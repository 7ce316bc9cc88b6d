package runtime

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/internal/cgroups"
)

// CPU conversions as the kubelet does them for cgroup v1.
const (
	minCPUShares   = 2
	maxCPUShares   = 262144
	cfsPeriodUS    = 100000
	minCFSQuotaUS  = 1000
	sharesPerCPU   = 1024
	milliCPUPerCPU = 1000
)

// milliCPUToShares converts a CPU request to cpu.shares.
func milliCPUToShares(milli int64) uint64 {
	if milli <= 0 {
		return minCPUShares
	}
	s := milli * sharesPerCPU / milliCPUPerCPU
	return uint64(max(minCPUShares, min(s, maxCPUShares)))
}

// milliCPUToQuota converts a CPU limit to a CFS quota for cfsPeriodUS; 0
// means no quota.
func milliCPUToQuota(milli int64) int64 {
	if milli <= 0 {
		return 0
	}
	return max(milli*cfsPeriodUS/milliCPUPerCPU, minCFSQuotaUS)
}

// PodCgroupParent is the cgroup of a pod under root, laid out as the
// kubelet's cgroupfs driver does: Guaranteed pods directly under root,
// Burstable and BestEffort ones under a class directory.
func PodCgroupParent(root string, qos corev1.PodQOSClass, uid types.UID) string {
	pod := "pod" + string(uid)
	switch qos {
	case corev1.PodQOSBurstable:
		return path.Join(root, "burstable", pod)
	case corev1.PodQOSBestEffort:
		return path.Join(root, "besteffort", pod)
	default:
		return path.Join(root, pod)
	}
}

// podCgroupLimits are the pod-level limits written to the pod cgroup.
type podCgroupLimits struct {
	memoryBytes int64 // 0: unlimited
	cpuShares   uint64
	cpuQuotaUS  int64 // 0: unlimited
}

func computePodCgroupLimits(pod *corev1.Pod) podCgroupLimits {
	var l podCgroupLimits
	if q, ok := podLimits(pod, corev1.ResourceMemory); ok {
		l.memoryBytes = q.Value()
	}
	if q, ok := podLimits(pod, corev1.ResourceCPU); ok {
		l.cpuQuotaUS = milliCPUToQuota(q.MilliValue())
	}
	var req int64
	for _, c := range pod.Spec.Containers {
		req += cpuRequestMilli(&c)
	}
	l.cpuShares = milliCPUToShares(req)
	return l
}

// ensurePodCgroup creates the pod cgroup in the memory and cpu hierarchies
// and writes its limits; runc creates the rest when the first container
// joins.
func ensurePodCgroup(parent string, l podCgroupLimits) error {
	mounts, err := cgroups.Mounts()
	if err != nil {
		return err
	}
	if m := cgroups.Controller(mounts, "memory"); m != "" {
		dir := filepath.Join(m, parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create pod memory cgroup: %w", err)
		}
		if l.memoryBytes > 0 {
			if err := writeCgroupFile(dir, "memory.limit_in_bytes", strconv.FormatInt(l.memoryBytes, 10)); err != nil {
				return err
			}
		}
	}
	if m := cgroups.Controller(mounts, "cpu"); m != "" {
		dir := filepath.Join(m, parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create pod cpu cgroup: %w", err)
		}
		if err := writeCgroupFile(dir, "cpu.shares", strconv.FormatUint(l.cpuShares, 10)); err != nil {
			return err
		}
		if l.cpuQuotaUS > 0 {
			if err := writeCgroupFile(dir, "cpu.cfs_period_us", strconv.Itoa(cfsPeriodUS)); err != nil {
				return err
			}
			if err := writeCgroupFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(l.cpuQuotaUS, 10)); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeCgroupFile(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %s of cgroup %s: %w", file, dir, err)
	}
	return nil
}

// removeCgroupTree removes the cgroup rel (and any child cgroups left in it)
// from every hierarchy. Cgroups still holding processes make it fail.
func removeCgroupTree(rel string) error {
	mounts, err := cgroups.Mounts()
	if err != nil {
		return err
	}
	return cgroups.Remove(mounts, rel)
}

// podCgroupUIDs lists the pod UIDs that have a pod cgroup under root in any
// hierarchy, with the cgroup path of each.
func podCgroupUIDs(root string) (map[types.UID]string, error) {
	mounts, err := cgroups.Mounts()
	if err != nil {
		return nil, err
	}
	out := map[types.UID]string{}
	for _, m := range mounts {
		for _, class := range []string{"", "burstable", "besteffort"} {
			rel := path.Join(root, class)
			entries, err := os.ReadDir(filepath.Join(m.Path, rel))
			if err != nil {
				continue
			}
			for _, e := range entries {
				if uid, ok := strings.CutPrefix(e.Name(), "pod"); ok && e.IsDir() {
					out[types.UID(uid)] = path.Join(rel, e.Name())
				}
			}
		}
	}
	return out, nil
}

// oomKilled reports whether the kernel OOM killer fired in the container's
// memory cgroup (cgroup v1 memory.oom_control's oom_kill counter).
func oomKilled(cgroupPath string) bool {
	mounts, err := cgroups.Mounts()
	if err != nil {
		return false
	}
	m := cgroups.Controller(mounts, "memory")
	if m == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(m, cgroupPath, "memory.oom_control"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

// oomScoreAdj is the container's oom_score_adj by QoS class, as upstream
// computes it, except that it is never negative: this host cannot lower it
// (no CAP_SYS_RESOURCE), so Guaranteed containers keep the inherited value.
func oomScoreAdj(qos corev1.PodQOSClass, c *corev1.Container, memoryCapacity int64) *int {
	var v int
	switch qos {
	case corev1.PodQOSGuaranteed:
		return nil
	case corev1.PodQOSBestEffort:
		v = 1000
	default:
		req := c.Resources.Requests.Memory().Value()
		if memoryCapacity <= 0 {
			v = 999
			break
		}
		v = int(1000 - (1000*req)/memoryCapacity)
		v = max(2, min(v, 999))
	}
	return &v
}

// cpuRequestMilli is the container's CPU request, defaulting to its limit
// as API defaulting would.
func cpuRequestMilli(c *corev1.Container) int64 {
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		return q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		return q.MilliValue()
	}
	return 0
}
