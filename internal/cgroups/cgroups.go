package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mount is one mounted hierarchy.
type Mount struct {
	// Path is the mount point, e.g. /sys/fs/cgroup/memory.
	Path string
	// V2 is true for the cgroup2 tree.
	V2 bool
	// Controllers are a v1 hierarchy's controllers (from its options).
	Controllers []string
}

// Mounts lists the host's cgroup hierarchies mounted at their root.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	var out []Mount
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
		if sep < 5 || sep+3 >= len(fields) || fields[3] != "/" {
			continue
		}
		switch fields[sep+1] {
		case "cgroup2":
			out = append(out, Mount{Path: fields[4], V2: true})
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(fields[sep+3], ",") {
				switch o {
				case "rw", "ro", "nosuid", "nodev", "noexec", "relatime", "clone_children":
				default:
					ctrls = append(ctrls, o)
				}
			}
			out = append(out, Mount{Path: fields[4], Controllers: ctrls})
		}
	}
	return out, s.Err()
}

// Unified is the cgroup2 mount point, "" if there is none.
func Unified(mounts []Mount) string {
	for _, m := range mounts {
		if m.V2 {
			return m.Path
		}
	}
	return ""
}

// Controller is the mount point of the v1 hierarchy with controller, "" if
// none is mounted.
func Controller(mounts []Mount, controller string) string {
	for _, m := range mounts {
		for _, c := range m.Controllers {
			if c == controller {
				return m.Path
			}
		}
	}
	return ""
}

// Kill kills every process in rel (a path relative to each hierarchy's
// root) and below, in every hierarchy, and waits until none is left:
// cgroup.kill where the kernel has it, SIGKILL to each listed pid
// otherwise, repeated until the subtree is empty.
func Kill(mounts []Mount, rel string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := 0
		for _, m := range mounts {
			dir := filepath.Join(m.Path, rel)
			if m.V2 {
				// Asynchronous: the processes are still counted below
				// until they are gone.
				_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
			}
			for _, pid := range pids(dir) {
				left++
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: %d processes left after SIGKILL", rel, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pids lists the processes of dir and its descendants.
func pids(dir string) []int {
	var out []int
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
		return nil
	})
	return out
}

// Remove removes rel and its descendants in every hierarchy, children
// first. Its processes must be gone (Kill).
func Remove(mounts []Mount, rel string) error {
	var errs []error
	for _, m := range mounts {
		root := filepath.Join(m.Path, rel)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := rmdir(d); err != nil {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// rmdir removes a cgroup directory, retrying while it is busy with no
// process left: a cgroup whose last process has just exited stays
// populated until the kernel has finished with it.
func rmdir(d string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Rmdir(d)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return nil
		case !errors.Is(err, unix.EBUSY) || len(pids(d)) > 0 || time.Now().After(deadline):
			// Busy with processes is not going to pass by waiting.
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Leftovers lists the directories of rel that still exist.
func Leftovers(mounts []Mount, rel string) []string {
	var left []string
	for _, m := range mounts {
		if _, err := os.Stat(filepath.Join(m.Path, rel)); err == nil {
			left = append(left, filepath.Join(m.Path, rel))
		}
	}
	return left
}
