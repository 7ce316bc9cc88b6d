package nodestatus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// machine is what the node reports about the host it runs on, read from
// /proc, /sys and /etc much as cAdvisor's MachineInfo and VersionInfo are.
type machine struct {
	milliCPU      int64
	memoryBytes   int64
	hugePages     map[corev1.ResourceName]resource.Quantity
	machineID     string
	systemUUID    string
	bootID        string
	kernelVersion string
	osImage       string
}

const cgroupRoot = "/sys/fs/cgroup"

// readMachine measures the host, bounding cpu and memory by the limits of
// the cgroup at cgroupPath (if any) and its ancestors.
func readMachine(cgroupPath string) (*machine, error) {
	m := &machine{
		milliCPU:      int64(runtime.NumCPU()) * 1000,
		machineID:     firstLine("/etc/machine-id", "/var/lib/dbus/machine-id"),
		systemUUID:    firstLine("/sys/class/dmi/id/product_uuid"),
		bootID:        firstLine("/proc/sys/kernel/random/boot_id"),
		kernelVersion: kernelVersion(),
		osImage:       osImage(),
	}
	mem, err := memTotal()
	if err != nil {
		return nil, err
	}
	m.memoryBytes = mem
	m.hugePages = hugePages()
	if cgroupPath != "" {
		h, err := hostCgroupHierarchies()
		if err != nil {
			return nil, err
		}
		cpu, mem := cgroupLimits(h, cgroupPath)
		if cpu > 0 && cpu < m.milliCPU {
			m.milliCPU = cpu
		}
		if mem > 0 && mem < m.memoryBytes {
			m.memoryBytes = mem
		}
	}
	return m, nil
}

func firstLine(paths ...string) string {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s
		}
	}
	return ""
}

func memTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory capacity: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(s.Text(), "MemTotal: %d kB", &kb); err == nil {
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("read memory capacity: no MemTotal in /proc/meminfo")
}

// hugePages reports every huge page size the kernel supports, as
// hugepages-<size> capacities (zero when none are reserved), as cAdvisor does.
func hugePages() map[corev1.ResourceName]resource.Quantity {
	out := map[corev1.ResourceName]resource.Quantity{}
	dirs, _ := filepath.Glob("/sys/kernel/mm/hugepages/hugepages-*kB")
	for _, d := range dirs {
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(d), "hugepages-"), "kB"), 10, 64)
		if err != nil {
			continue
		}
		n, _ := strconv.ParseInt(firstLine(filepath.Join(d, "nr_hugepages")), 10, 64)
		size := resource.NewQuantity(kb*1024, resource.BinarySI)
		name := corev1.ResourceName(corev1.ResourceHugePagesPrefix + size.String())
		out[name] = *resource.NewQuantity(n*kb*1024, resource.BinarySI)
	}
	return out
}

// cgroupHierarchies are where the controllers that bound capacity are
// mounted: the cgroup v1 memory and cpu hierarchies and the cgroup v2
// tree (empty when absent).
type cgroupHierarchies struct {
	memoryV1, cpuV1, unified string
}

// hostCgroupHierarchies reads the mount points from /proc/self/mountinfo.
func hostCgroupHierarchies() (cgroupHierarchies, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return cgroupHierarchies{}, fmt.Errorf("read cgroup mounts: %w", err)
	}
	return parseCgroupMounts(string(data)), nil
}

// parseCgroupMounts finds the cgroup hierarchies in mountinfo text, each
// mounted at its root ("/" as the mount's root).
func parseCgroupMounts(mountinfo string) cgroupHierarchies {
	var h cgroupHierarchies
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, p := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(p) < 3 || f[3] != "/" {
			continue
		}
		switch p[0] {
		case "cgroup2":
			if h.unified == "" {
				h.unified = f[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(p[2], ",") {
				switch {
				case opt == "memory" && h.memoryV1 == "":
					h.memoryV1 = f[4]
				case opt == "cpu" && h.cpuV1 == "":
					h.cpuV1 = f[4]
				}
			}
		}
	}
	return h
}

// relative is cgroup path p relative to the hierarchies' roots: p itself
// unless it is a directory under one of the mount points.
func (h cgroupHierarchies) relative(p string) string {
	p = filepath.Clean("/" + p)
	for _, m := range []string{h.memoryV1, h.cpuV1, h.unified, cgroupRoot} {
		if m == "" {
			continue
		}
		if rel, ok := strings.CutPrefix(p, filepath.Clean(m)+"/"); ok {
			return "/" + rel
		}
	}
	return p
}

// cgroupV1Unlimited is where memory.limit_in_bytes starts to mean no limit:
// the kernel reports an unset limit as PAGE_COUNTER_MAX pages, just below
// 2^63 (9223372036854771712 with 4 KiB pages).
const cgroupV1Unlimited = int64(1) << 62

// cgroupLimits returns the tightest cpu (millicores) and memory (bytes)
// limit of the cgroup path (as --cgroup-root names it, or a directory under
// a hierarchy's mount point) and its ancestors in every hierarchy: cgroup
// v1 memory.limit_in_bytes and cpu.cfs_quota_us/cpu.cfs_period_us, cgroup
// v2 memory.max and cpu.max. Zero means unlimited. Cgroups that do not
// exist yet (the kubelet creates its root with the first pod) are skipped.
func cgroupLimits(h cgroupHierarchies, path string) (milliCPU, memory int64) {
	rel := h.relative(path)
	tighter := func(cur *int64, v int64) {
		if v > 0 && (*cur == 0 || v < *cur) {
			*cur = v
		}
	}
	walk := func(mount string, read func(dir string)) {
		if mount == "" {
			return
		}
		for p := rel; ; p = filepath.Dir(p) {
			read(filepath.Join(mount, p))
			if p == "/" {
				return
			}
		}
	}
	walk(h.memoryV1, func(dir string) {
		if v, ok := readInt(filepath.Join(dir, "memory.limit_in_bytes")); ok && v < cgroupV1Unlimited {
			tighter(&memory, v)
		}
	})
	walk(h.cpuV1, func(dir string) {
		quota, ok1 := readInt(filepath.Join(dir, "cpu.cfs_quota_us"))
		period, ok2 := readInt(filepath.Join(dir, "cpu.cfs_period_us"))
		if ok1 && ok2 && quota > 0 && period > 0 {
			tighter(&milliCPU, quotaMilliCPU(quota, period))
		}
	})
	walk(h.unified, func(dir string) {
		if b, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 && f[0] != "max" {
				quota, err1 := strconv.ParseInt(f[0], 10, 64)
				period, err2 := strconv.ParseInt(f[1], 10, 64)
				if err1 == nil && err2 == nil && quota > 0 && period > 0 {
					tighter(&milliCPU, quotaMilliCPU(quota, period))
				}
			}
		}
		if v, ok := readInt(filepath.Join(dir, "memory.max")); ok {
			tighter(&memory, v)
		}
	})
	return milliCPU, memory
}

// quotaMilliCPU is a CFS quota per period in millicores, at least 1.
func quotaMilliCPU(quota, period int64) int64 {
	return max(quota*1000/period, 1)
}

// readInt reads a file holding one integer ("max" and the like are not).
func readInt(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

// rootfsCapacity is the size of the filesystem holding dir.
func rootfsCapacity(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Blocks) * int64(st.Bsize), nil
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// osImage is PRETTY_NAME from os-release, cAdvisor's ContainerOsVersion.
func osImage() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("PRETTY_NAME=")); ok {
				if s, err := strconv.Unquote(string(v)); err == nil {
					return s
				}
				return strings.Trim(string(v), `"'`)
			}
		}
	}
	return "Linux"
}
