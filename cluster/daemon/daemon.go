package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/netns"
)

// Spec describes one daemon.
type Spec struct {
	// Name identifies it in messages, e.g. "kubelet skiff-worker".
	Name string
	// Argv is the command line; Argv[0] is the executable path.
	Argv []string
	// Env is added to the starter's environment.
	Env []string
	// NetNS, if set, is the pinned network namespace it runs in.
	NetNS string
	// Cgroup, if set, is a cgroup2 directory it is started in (with
	// CLONE_INTO_CGROUP, so no child escapes it).
	Cgroup string
	// LogFile receives its stdout and stderr (appended).
	LogFile string
	// PIDFile records its pid.
	PIDFile string
	// Marker is a string its command line must contain for a pid read from
	// PIDFile to count as this daemon (pids are reused). Default: the
	// whole Argv joined.
	Marker string
}

func (s *Spec) marker() string {
	if s.Marker != "" {
		return s.Marker
	}
	return strings.Join(s.Argv, "\x00")
}

// Start starts the daemon unless it already runs, and returns its pid.
func Start(s Spec) (int, error) {
	if pid, ok := Running(s); ok {
		return pid, nil
	}
	if len(s.Argv) == 0 {
		return 0, fmt.Errorf("%s: empty command", s.Name)
	}
	for _, f := range []string{s.LogFile, s.PIDFile} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return 0, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	logf, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("%s: open log: %w", s.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if s.Cgroup != "" {
		if err := os.MkdirAll(s.Cgroup, 0o755); err != nil {
			return 0, fmt.Errorf("%s: create cgroup: %w", s.Name, err)
		}
		cg, err := os.Open(s.Cgroup)
		if err != nil {
			return 0, fmt.Errorf("%s: open cgroup: %w", s.Name, err)
		}
		defer cg.Close()
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.Fd())
	}
	if s.NetNS != "" {
		exited, err := netns.Start(s.NetNS, cmd)
		if err != nil {
			return 0, fmt.Errorf("%s: start in %s: %w", s.Name, s.NetNS, err)
		}
		go func() { <-exited }()
	} else {
		if err := cmd.Start(); err != nil {
			return 0, fmt.Errorf("%s: start: %w", s.Name, err)
		}
		go func() { _ = cmd.Wait() }()
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(s.PIDFile, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		_ = unix.Kill(-pid, unix.SIGKILL)
		return 0, fmt.Errorf("%s: write pid file: %w", s.Name, err)
	}
	return pid, nil
}

// Running reports the daemon's pid if the process in its pid file is alive
// and is the daemon.
func Running(s Spec) (int, bool) {
	data, err := os.ReadFile(s.PIDFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(s.marker())) {
		return 0, false
	}
	if isZombie(pid) {
		return 0, false
	}
	return pid, true
}

// Stop sends the daemon's session SIGTERM, then SIGKILL once grace has
// passed, and returns once it is gone. A daemon that does not run is not an
// error; its pid file is removed either way.
func Stop(s Spec, grace time.Duration) error {
	pid, ok := Running(s)
	if ok {
		// The daemon leads its own session and process group.
		_ = unix.Kill(-pid, unix.SIGTERM)
		if !waitGone(pid, grace) {
			_ = unix.Kill(-pid, unix.SIGKILL)
			if !waitGone(pid, 10*time.Second) {
				return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", s.Name, pid)
			}
		}
	}
	if err := os.Remove(s.PIDFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: remove pid file: %w", s.Name, err)
	}
	return nil
}

// Kill sends the daemon's session SIGKILL and waits until it is gone, as a
// crash would leave it: the pid file stays.
func Kill(s Spec) error {
	pid, ok := Running(s)
	if !ok {
		return nil
	}
	_ = unix.Kill(-pid, unix.SIGKILL)
	if !waitGone(pid, 10*time.Second) {
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", s.Name, pid)
	}
	return nil
}

func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) || isZombie(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isZombie reports whether pid has exited but not been reaped (its parent
// is this process, which reaps it in the background).
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
