package stats

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadCgroup(t *testing.T) {
	write := func(dir, file, content string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	v1 := Mounts{CPUAcct: filepath.Join(root, "cpuacct"), Memory: filepath.Join(root, "memory")}
	write(filepath.Join(v1.CPUAcct, "pod1"), "cpuacct.usage", "123456789\n")
	write(filepath.Join(v1.Memory, "pod1"), "memory.usage_in_bytes", "1000000\n")
	write(filepath.Join(v1.Memory, "pod1"), "memory.stat", "rss 1\ntotal_rss 400000\ntotal_inactive_file 300000\ntotal_pgfault 7\ntotal_pgmajfault 2\n")
	v2 := Mounts{Unified: filepath.Join(root, "unified")}
	write(filepath.Join(v2.Unified, "pod1"), "cpu.stat", "usage_usec 2500\nuser_usec 2000\n")
	write(filepath.Join(v2.Unified, "pod1"), "memory.current", "5000\n")
	write(filepath.Join(v2.Unified, "pod1"), "memory.stat", "anon 3000\ninactive_file 1000\npgfault 9\npgmajfault 1\n")
	tests := []struct {
		name                  string
		m                     Mounts
		cpu, usage, ws, rss   uint64
		pageFaults, majFaults uint64
	}{
		{"v1", v1, 123456789, 1000000, 700000, 400000, 7, 2},
		{"v2", v2, 2500000, 5000, 4000, 3000, 9, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := tc.m.ReadCgroup("/pod1")
			if err != nil {
				t.Fatal(err)
			}
			if u.CPUUsageNanos != tc.cpu || u.MemoryUsageBytes != tc.usage || u.MemoryWorkingSetBytes != tc.ws ||
				u.MemoryRSSBytes != tc.rss || u.PageFaults != tc.pageFaults || u.MajorPageFaults != tc.majFaults {
				t.Errorf("usage = %+v", u)
			}
			if _, err := tc.m.ReadCgroup("/missing"); err == nil {
				t.Error("missing cgroup read without error")
			}
		})
	}
}

func TestReadNodeAndRate(t *testing.T) {
	u, err := ReadNode()
	if err != nil {
		t.Fatal(err)
	}
	if u.CPUUsageNanos == 0 || u.MemoryWorkingSetBytes == 0 || u.MemoryWorkingSetBytes > u.MemoryUsageBytes {
		t.Errorf("node usage = %+v", u)
	}
	var r Rate
	t0 := time.Now()
	if _, ok := r.NanoCores("k", &Usage{Time: t0, CPUUsageNanos: 1e9}); ok {
		t.Error("rate from one sample")
	}
	if rate, ok := r.NanoCores("k", &Usage{Time: t0.Add(2 * time.Second), CPUUsageNanos: 2e9}); !ok || rate != 5e8 {
		t.Errorf("rate = %d %v, want 5e8", rate, ok)
	}
	r.Retain(map[string]bool{})
	if _, ok := r.NanoCores("k", &Usage{Time: t0.Add(3 * time.Second), CPUUsageNanos: 3e9}); ok {
		t.Error("rate after Retain dropped the key")
	}
}
