package stats

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Usage is one sample of a cgroup's (or the node's) CPU and memory.
type Usage struct {
	// Time the sample was taken.
	Time time.Time
	// CPUUsageNanos is the cumulative CPU time used, in nanoseconds.
	CPUUsageNanos uint64
	// MemoryUsageBytes is the memory in use, page cache included.
	MemoryUsageBytes uint64
	// MemoryWorkingSetBytes is usage minus inactive file pages, as the
	// kubelet (and the OOM killer's view) counts it.
	MemoryWorkingSetBytes uint64
	// MemoryRSSBytes is anonymous memory and swap cache.
	MemoryRSSBytes uint64
	// PageFaults and MajorPageFaults are cumulative counts.
	PageFaults, MajorPageFaults uint64
}

// ErrNotFound is returned (wrapped) for a cgroup that does not exist.
var ErrNotFound = errors.New("cgroup not found")

// Mounts are where the host's cgroup hierarchies are mounted.
type Mounts struct {
	// CPUAcct, Memory are the v1 controller mounts ("" if absent).
	CPUAcct, Memory string
	// Unified is the cgroup2 mount ("" if absent).
	Unified string
}

// FindMounts reads /proc/self/mountinfo for the cgroup mounts.
func FindMounts() (Mounts, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Mounts{}, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	var m Mounts
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) || len(fields) < 5 || fields[3] != "/" {
			continue
		}
		switch fields[sep+1] {
		case "cgroup2":
			if m.Unified == "" {
				m.Unified = fields[4]
			}
		case "cgroup":
			for _, o := range strings.Split(fields[sep+3], ",") {
				switch o {
				case "cpuacct":
					m.CPUAcct = fields[4]
				case "memory":
					m.Memory = fields[4]
				}
			}
		}
	}
	return m, s.Err()
}

// ReadCgroup samples the cgroup at path rel (e.g. /kubepods/pod<uid>)
// from the v1 cpuacct and memory controllers, or from cgroup v2 for a
// controller v1 does not have.
func (m Mounts) ReadCgroup(rel string) (*Usage, error) {
	u := &Usage{Time: time.Now()}
	found := false
	switch {
	case m.CPUAcct != "":
		dir := filepath.Join(m.CPUAcct, rel)
		v, err := readUint(filepath.Join(dir, "cpuacct.usage"))
		if err != nil {
			return nil, notFound(rel, err)
		}
		u.CPUUsageNanos, found = v, true
	case m.Unified != "":
		kv, err := readKV(filepath.Join(m.Unified, rel, "cpu.stat"))
		if err != nil {
			return nil, notFound(rel, err)
		}
		u.CPUUsageNanos, found = kv["usage_usec"]*1000, true
	}
	switch {
	case m.Memory != "":
		dir := filepath.Join(m.Memory, rel)
		usage, err := readUint(filepath.Join(dir, "memory.usage_in_bytes"))
		if err != nil {
			return nil, notFound(rel, err)
		}
		kv, err := readKV(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return nil, notFound(rel, err)
		}
		u.MemoryUsageBytes = usage
		u.MemoryWorkingSetBytes = usage - min(usage, kv["total_inactive_file"])
		u.MemoryRSSBytes = kv["total_rss"]
		u.PageFaults, u.MajorPageFaults = kv["total_pgfault"], kv["total_pgmajfault"]
		found = true
	case m.Unified != "":
		dir := filepath.Join(m.Unified, rel)
		usage, err := readUint(filepath.Join(dir, "memory.current"))
		if err != nil {
			return nil, notFound(rel, err)
		}
		kv, err := readKV(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return nil, notFound(rel, err)
		}
		u.MemoryUsageBytes = usage
		u.MemoryWorkingSetBytes = usage - min(usage, kv["inactive_file"])
		u.MemoryRSSBytes = kv["anon"]
		u.PageFaults, u.MajorPageFaults = kv["pgfault"], kv["pgmajfault"]
		found = true
	}
	if !found {
		return nil, fmt.Errorf("cgroup %s: no cpuacct, memory or cgroup2 hierarchy mounted", rel)
	}
	return u, nil
}

func notFound(rel string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cgroup %s: %w", rel, ErrNotFound)
	}
	return fmt.Errorf("cgroup %s: %w", rel, err)
}

// clockTicks is USER_HZ, the unit of /proc/stat (100 on Linux).
const clockTicks = 100

// ReadNode samples the whole node from /proc/stat and /proc/meminfo, which
// reflect the root cgroup on v1 and v2 alike.
func ReadNode() (*Usage, error) {
	u := &Usage{Time: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return nil, fmt.Errorf("parse /proc/stat: unexpected first line %q", line)
	}
	// user nice system idle iowait irq softirq steal: all but idle, iowait.
	var ticks uint64
	for i, f := range fields[1:min(len(fields), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse /proc/stat: %w", err)
		}
		ticks += v
	}
	u.CPUUsageNanos = ticks * uint64(time.Second/clockTicks)
	mi, err := readKV("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	total, free := mi["MemTotal"]*1024, mi["MemFree"]*1024
	u.MemoryUsageBytes = total - min(total, free)
	u.MemoryWorkingSetBytes = u.MemoryUsageBytes - min(u.MemoryUsageBytes, mi["Inactive(file)"]*1024)
	u.MemoryRSSBytes = mi["AnonPages"] * 1024
	if vm, err := readKV("/proc/vmstat"); err == nil {
		u.PageFaults, u.MajorPageFaults = vm["pgfault"], vm["pgmajfault"]
	}
	return u, nil
}

// MemoryTotal returns the node's memory in bytes.
func MemoryTotal() (uint64, error) {
	mi, err := readKV("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return mi["MemTotal"] * 1024, nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readKV parses "key value" (or "key: value kB") lines.
func readKV(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[strings.TrimSuffix(f[0], ":")] = v
		}
	}
	return out, nil
}

// Rate tracks cumulative CPU samples per key to derive usage in
// nanocores between consecutive samples.
type Rate struct {
	last map[string]*Usage
}

// NanoCores records u under key and returns the CPU rate since the previous
// sample of key (ok false for the first).
func (r *Rate) NanoCores(key string, u *Usage) (uint64, bool) {
	if r.last == nil {
		r.last = map[string]*Usage{}
	}
	prev := r.last[key]
	r.last[key] = u
	if prev == nil || !u.Time.After(prev.Time) || u.CPUUsageNanos < prev.CPUUsageNanos {
		return 0, false
	}
	d := u.Time.Sub(prev.Time)
	return uint64(float64(u.CPUUsageNanos-prev.CPUUsageNanos) / d.Seconds()), true
}

// Retain forgets the samples of keys not in keep (pods and containers
// that are gone).
func (r *Rate) Retain(keep map[string]bool) {
	for k := range r.last {
		if !keep[k] {
			delete(r.last, k)
		}
	}
}
