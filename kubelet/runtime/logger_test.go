package runtime

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/kubelet/crilog"
)

// TestDedicatedLogger runs a container with cmd/skiff-cri-logger (built
// here) as the log writer instead of this test binary: the shim starts that
// binary for the container, it writes the CRI log, and it ends when the
// container is gone.
func TestDedicatedLogger(t *testing.T) {
	rt := requireRuntime(t)
	bin := filepath.Join(t.TempDir(), crilog.BinaryName)
	build := exec.Command("go", "build", "-o", bin, "github.com/skiff-dev/skiff/cmd/skiff-cri-logger")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build skiff-cri-logger: %v\n%s", err, out)
	}
	logger, src, err := crilog.Binary(bin)
	if err != nil || src != crilog.SourceConfigured {
		t.Fatalf("crilog.Binary(%s) = %s, %s, %v", bin, logger, src, err)
	}
	saved := rt.cfg.LoggerBinary
	rt.cfg.LoggerBinary = logger
	t.Cleanup(func() { rt.cfg.LoggerBinary = saved })

	pod := newPod("dedicated-logger", nil, []string{"echo from-dedicated; echo err-dedicated >&2; exec sleep 300"})
	runPod(t, pod)
	logPath := rt.LogPath(pod, "app0", 0)
	fileHolds(t, logPath, " stdout F from-dedicated\n")
	fileHolds(t, logPath, " stderr F err-dedicated\n")

	// The process writing that file is the dedicated binary.
	var pid string
	eventually(t, 10*time.Second, "a logger process for "+logPath, func() (bool, string) {
		pid = loggerPID(logPath)
		return pid != "", "none"
	})
	exe, err := os.Readlink(filepath.Join("/proc", pid, "exe"))
	if err != nil {
		t.Fatal(err)
	}
	if exe != logger {
		t.Errorf("logger process %s runs %s, want %s", pid, exe, logger)
	}

	// Removing the pod closes the container's streams: the logger exits.
	if err := rt.RemovePod(context.Background(), pod.UID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "logger "+pid+" gone", func() (bool, string) {
		return loggerPID(logPath) == "", "still running"
	})
}

// loggerPID returns the pid of a process whose arguments are
// `<binary> skiff-cri-logger <logPath>`, or "".
func loggerPID(logPath string) string {
	want := []byte("\x00" + crilog.Arg + "\x00" + logPath + "\x00")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasSuffix(b, want) || bytes.Count(b, []byte{0}) != 3 {
			continue
		}
		if st, err := os.ReadFile(filepath.Join(filepath.Dir(p), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue // exited, not yet reaped
		}
		return filepath.Base(filepath.Dir(p))
	}
	return ""
}
