package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestMountsFindsHierarchies(t *testing.T) {
	mounts, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	if Unified(mounts) == "" && Controller(mounts, "memory") == "" {
		t.Fatalf("no cgroup2 tree and no memory hierarchy in %+v", mounts)
	}
	for _, m := range mounts {
		if _, err := os.Stat(filepath.Join(m.Path, "cgroup.procs")); err != nil {
			t.Errorf("%s: not a cgroup root: %v", m.Path, err)
		}
	}
}

// TestKillAndRemove puts a process two levels down a subtree in every
// hierarchy, then kills the subtree's processes and removes it.
func TestKillAndRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	mounts, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	rel := fmt.Sprintf("skiff-cgroups-test-%d", os.Getpid())
	t.Cleanup(func() { _ = Remove(mounts, rel) })
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	for _, m := range mounts {
		if slices.Contains(m.Controllers, "cpuset") {
			continue // a v1 cpuset cgroup takes no process before cpus and mems are set
		}
		dir := filepath.Join(m.Path, rel, "child")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			t.Fatalf("move into %s: %v", dir, err)
		}
	}
	if err := Remove(mounts, rel); err == nil {
		t.Fatal("Remove of a subtree with a process succeeded")
	}
	if err := Kill(mounts, rel, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := Remove(mounts, rel); err != nil {
		t.Fatal(err)
	}
	if left := Leftovers(mounts, rel); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
}
