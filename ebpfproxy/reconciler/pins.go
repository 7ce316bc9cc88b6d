//go:build linux

package reconciler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
)

func mapsDir(pinDir string) string  { return filepath.Join(pinDir, "maps") }
func linksDir(pinDir string) string { return filepath.Join(pinDir, "links") }

// ensureBPFFS makes dir exist on a bpffs, mounting one there if it is not.
// It reports whether it mounted.
func ensureBPFFS(dir string) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create pin dir: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Type == unix.BPF_FS_MAGIC {
		return false, nil
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		return false, fmt.Errorf("mount bpffs on %s: %w", dir, err)
	}
	return true, nil
}

// cgroupID is the id the kernel reports for a cgroup2 directory: its inode.
func cgroupID(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return 0, fmt.Errorf("%s is not a cgroup2 directory", path)
	}
	var s unix.Stat_t
	if err := unix.Stat(path, &s); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return s.Ino, nil
}

// attachHooks attaches every hook to the cgroup, reusing pinned links:
// a pinned link on the same cgroup gets the new program atomically
// (BPF_LINK_UPDATE), so there is no moment without a hook. A pinned link on
// another cgroup is replaced. It reports how many links it adopted.
func attachHooks(objs *bpf.Objects, pinDir, cgroupPath string) ([]link.Link, int, error) {
	want, err := cgroupID(cgroupPath)
	if err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(linksDir(pinDir), 0o700); err != nil {
		return nil, 0, fmt.Errorf("create links dir: %w", err)
	}
	var links []link.Link
	adopted := 0
	fail := func(err error) ([]link.Link, int, error) {
		for _, l := range links {
			l.Close()
		}
		return nil, 0, err
	}
	for _, h := range bpf.Hooks {
		pin := filepath.Join(linksDir(pinDir), h.Name)
		prog := h.Program(objs)
		l, err := link.LoadPinnedLink(pin, nil)
		switch {
		case err == nil:
			if onCgroup(l, want) {
				if err := l.Update(prog); err != nil {
					l.Close()
					return fail(fmt.Errorf("update pinned link %s: %w", h.Name, err))
				}
				links = append(links, l)
				adopted++
				continue
			}
			// Pinned for another cgroup: detach it and attach afresh.
			if err := l.Unpin(); err != nil {
				l.Close()
				return fail(fmt.Errorf("unpin link %s: %w", h.Name, err))
			}
			l.Close()
		case !errors.Is(err, os.ErrNotExist):
			return fail(fmt.Errorf("load pinned link %s: %w", h.Name, err))
		}
		l, err = link.AttachCgroup(link.CgroupOptions{Path: cgroupPath, Attach: h.Attach, Program: prog})
		if err != nil {
			return fail(fmt.Errorf("attach %s to %s: %w", h.Name, cgroupPath, err))
		}
		if err := l.Pin(pin); err != nil {
			l.Close()
			return fail(fmt.Errorf("pin link %s: %w", h.Name, err))
		}
		links = append(links, l)
	}
	return links, adopted, nil
}

func onCgroup(l link.Link, id uint64) bool {
	info, err := l.Info()
	if err != nil {
		return false
	}
	cg := info.Cgroup()
	return cg != nil && cg.CgroupId == id
}

// loadObjects loads the programs and opens or creates the pinned maps.
func loadObjects(spec *ebpf.CollectionSpec, pinDir string) (*bpf.Objects, error) {
	if err := os.MkdirAll(mapsDir(pinDir), 0o700); err != nil {
		return nil, fmt.Errorf("create maps dir: %w", err)
	}
	objs := &bpf.Objects{}
	err := spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: mapsDir(pinDir)}})
	if errors.Is(err, ebpf.ErrMapIncompatible) {
		return nil, fmt.Errorf("pinned maps in %s do not match this proxy's map sizes or layout (remove the directory to start afresh, which resets affinity): %w", mapsDir(pinDir), err)
	}
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load BPF programs: %+v", ve)
		}
		return nil, fmt.Errorf("load BPF programs: %w", err)
	}
	return objs, nil
}

// socketMatchingDisabled reports whether the kernel logged that it turned
// off cgroup2 socket matching, which happens when something writes a
// net_cls classid or net_prio map: the hooks then silently stop applying.
func socketMatchingDisabled() (bool, error) {
	// Raw syscalls: os.File would park a non-blocking read in the poller
	// instead of returning EAGAIN at the end of the log.
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192) // each read returns one record
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return false, nil
		case errors.Is(err, unix.EPIPE): // a record was overwritten; go on
			continue
		case err != nil:
			return false, err
		case n == 0:
			return false, nil
		}
		if strings.Contains(string(buf[:n]), "disabling cgroup2 socket matching") {
			return true, nil
		}
	}
}
