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

// readMachine measures the host, bounding cpu and memory by the cgroup at
// cgroupPath (if any) and its ancestors.
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
		cpu, mem, err := cgroupLimits(cgroupRoot, cgroupPath)
		if err != nil {
			return nil, err
		}
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

// cgroupLimits returns the tightest cpu (millicores) and memory (bytes) limit
// on the path from the cgroup up to the root; zero means unlimited.
// The cgroup v2 hierarchy is mounted at root.
func cgroupLimits(root, path string) (milliCPU, memory int64, err error) {
	root = filepath.Clean(root)
	if !strings.HasPrefix(filepath.Clean(path), root+"/") {
		path = filepath.Join(root, path)
	}
	path = filepath.Clean(path)
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("read cgroup limits: %w", err)
	}
	for p := path; strings.HasPrefix(p, root+"/"); p = filepath.Dir(p) {
		if b, err := os.ReadFile(filepath.Join(p, "cpu.max")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 && f[0] != "max" {
				quota, err1 := strconv.ParseInt(f[0], 10, 64)
				period, err2 := strconv.ParseInt(f[1], 10, 64)
				if err1 == nil && err2 == nil && period > 0 {
					if c := quota * 1000 / period; milliCPU == 0 || c < milliCPU {
						milliCPU = c
					}
				}
			}
		}
		if b, err := os.ReadFile(filepath.Join(p, "memory.max")); err == nil {
			if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && (memory == 0 || v < memory) {
				memory = v
			}
		}
	}
	return milliCPU, memory, nil
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
