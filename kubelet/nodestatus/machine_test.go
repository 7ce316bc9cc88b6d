package nodestatus

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestParseCgroupMounts(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		want      cgroupHierarchies
	}{
		{
			name: "hybrid (v1 controllers, v2 unified)",
			mountinfo: `25 24 0:22 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu
27 25 0:24 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 25 0:26 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`,
			want: cgroupHierarchies{memoryV1: "/sys/fs/cgroup/memory", cpuV1: "/sys/fs/cgroup/cpu", unified: "/sys/fs/cgroup/unified"},
		},
		{
			name: "combined cpu,cpuacct",
			mountinfo: `26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
28 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory`,
			want: cgroupHierarchies{memoryV1: "/sys/fs/cgroup/memory", cpuV1: "/sys/fs/cgroup/cpu,cpuacct"},
		},
		{
			name:      "pure cgroup v2",
			mountinfo: `30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`,
			want:      cgroupHierarchies{unified: "/sys/fs/cgroup"},
		},
		{
			name:      "a bind mount of a sub-cgroup is not a hierarchy root",
			mountinfo: `31 24 0:25 /kubepods /mnt/cg rw - cgroup cgroup rw,memory`,
			want:      cgroupHierarchies{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseCgroupMounts(tt.mountinfo); got != tt.want {
				t.Errorf("parseCgroupMounts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// fakeHierarchies lays out v1 memory and cpu and a v2 tree in a temp dir.
func fakeHierarchies(t *testing.T) cgroupHierarchies {
	root := t.TempDir()
	h := cgroupHierarchies{memoryV1: filepath.Join(root, "memory"), cpuV1: filepath.Join(root, "cpu"), unified: filepath.Join(root, "unified")}
	for _, m := range []string{h.memoryV1, h.cpuV1, h.unified} {
		if err := os.MkdirAll(m, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The roots are unlimited, as the kernel shows them.
	write(t, h.memoryV1, "", "memory.limit_in_bytes", "9223372036854771712")
	write(t, h.cpuV1, "", "cpu.cfs_quota_us", "-1")
	write(t, h.cpuV1, "", "cpu.cfs_period_us", "100000")
	return h
}

func write(t *testing.T, mount, cgroup, file, v string) {
	t.Helper()
	dir := filepath.Join(mount, cgroup)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCgroupLimits(t *testing.T) {
	tests := []struct {
		name    string
		files   func(h cgroupHierarchies)
		path    string
		wantCPU int64
		wantMem int64
	}{
		{name: "nothing limited", files: func(cgroupHierarchies) {}, path: "/kubepods"},
		{
			name: "v1: the node's cgroup caps memory, its parent cpu; the root does not exist yet",
			path: "/skiff/node-1/kubepods",
			files: func(h cgroupHierarchies) {
				write(t, h.memoryV1, "/skiff/node-1", "memory.limit_in_bytes", "536870912")
				write(t, h.memoryV1, "/skiff", "memory.limit_in_bytes", "9223372036854771712")
				write(t, h.cpuV1, "/skiff", "cpu.cfs_quota_us", "150000")
				write(t, h.cpuV1, "/skiff", "cpu.cfs_period_us", "100000")
				write(t, h.cpuV1, "/skiff/node-1", "cpu.cfs_quota_us", "-1")
				write(t, h.cpuV1, "/skiff/node-1", "cpu.cfs_period_us", "100000")
			},
			wantCPU: 1500, wantMem: 512 << 20,
		},
		{
			name: "v1: the tightest ancestor wins",
			path: "/a/b",
			files: func(h cgroupHierarchies) {
				write(t, h.memoryV1, "/a", "memory.limit_in_bytes", "268435456")
				write(t, h.memoryV1, "/a/b", "memory.limit_in_bytes", "1073741824")
				write(t, h.cpuV1, "/a/b", "cpu.cfs_quota_us", "50000")
				write(t, h.cpuV1, "/a/b", "cpu.cfs_period_us", "200000")
			},
			wantCPU: 250, wantMem: 256 << 20,
		},
		{
			name: "v2: cpu.max and memory.max",
			path: "kubelet.slice/node",
			files: func(h cgroupHierarchies) {
				write(t, h.unified, "/kubelet.slice", "cpu.max", "150000 100000")
				write(t, h.unified, "/kubelet.slice", "memory.max", "1073741824")
				write(t, h.unified, "/kubelet.slice/node", "cpu.max", "max 100000")
				write(t, h.unified, "/kubelet.slice/node", "memory.max", "max")
			},
			wantCPU: 1500, wantMem: 1 << 30,
		},
		{
			name: "v1 and v2 together: the tighter of both",
			path: "/n",
			files: func(h cgroupHierarchies) {
				write(t, h.memoryV1, "/n", "memory.limit_in_bytes", "1073741824")
				write(t, h.unified, "/n", "memory.max", "805306368")
				write(t, h.unified, "/n", "cpu.max", "100000 100000")
			},
			wantCPU: 1000, wantMem: 768 << 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHierarchies(t)
			tt.files(h)
			cpu, mem := cgroupLimits(h, tt.path)
			if cpu != tt.wantCPU || mem != tt.wantMem {
				t.Errorf("limits = %dm cpu, %d bytes, want %dm and %d", cpu, mem, tt.wantCPU, tt.wantMem)
			}
			// A path under a mount point means the same cgroup.
			if tt.path != "" {
				cpu2, mem2 := cgroupLimits(h, filepath.Join(h.unified, tt.path))
				if cpu2 != cpu || mem2 != mem {
					t.Errorf("via %s: %dm, %d; via %s: %dm, %d", filepath.Join(h.unified, tt.path), cpu2, mem2, tt.path, cpu, mem)
				}
			}
		})
	}
}

// TestCapacityFromRealCgroup creates a cgroup with limits on the host's
// hierarchies and reads the machine with a kubelet cgroup root below it.
func TestCapacityFromRealCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	h, err := hostCgroupHierarchies()
	if err != nil {
		t.Fatal(err)
	}
	node := fmt.Sprintf("/skiff-captest-%d", os.Getpid())
	type limit struct{ mount, file, value string }
	var limits []limit
	switch {
	case h.memoryV1 != "" && h.cpuV1 != "":
		limits = []limit{
			{h.memoryV1, "memory.limit_in_bytes", strconv.Itoa(300 << 20)},
			{h.cpuV1, "cpu.cfs_period_us", "100000"},
			{h.cpuV1, "cpu.cfs_quota_us", "70000"},
		}
	case h.unified != "":
		// The controllers must be enabled for the cgroup's files to exist.
		_ = os.WriteFile(filepath.Join(h.unified, "cgroup.subtree_control"), []byte("+cpu +memory"), 0o644)
		limits = []limit{{h.unified, "memory.max", strconv.Itoa(300 << 20)}, {h.unified, "cpu.max", "70000 100000"}}
	default:
		t.Skip("no cgroup memory and cpu controllers mounted")
	}
	for _, l := range limits {
		dir := filepath.Join(l.mount, node)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove test cgroup: %v", err)
			}
		})
		if err := os.WriteFile(filepath.Join(dir, l.file), []byte(l.value), 0o644); err != nil {
			t.Fatalf("write %s of %s: %v", l.file, dir, err)
		}
	}
	// The kubelet's --cgroup-root below the limited cgroup, not created yet.
	m, err := readMachine(node + "/kubepods")
	if err != nil {
		t.Fatal(err)
	}
	if m.milliCPU != 700 || m.memoryBytes != 300<<20 {
		t.Errorf("capacity = %dm cpu, %d bytes memory, want 700m and %d", m.milliCPU, m.memoryBytes, 300<<20)
	}
	host, err := readMachine("")
	if err != nil {
		t.Fatal(err)
	}
	if host.memoryBytes <= 300<<20 {
		t.Skipf("the host has only %d bytes of memory: the cgroup's limit proves nothing", host.memoryBytes)
	}
}
