package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/kubelet/crilog"
)

// buildLogger builds this command into a temp dir.
func buildLogger(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), crilog.BinaryName)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestLoggerProtocol runs the binary as the containerd shim does (binary://
// log URI): the container's stdout and stderr on fds 3 and 4, a pipe on fd
// 5 the logger writes one byte to and closes once it is ready, and the
// arguments `skiff-cri-logger <path>`.
func TestLoggerProtocol(t *testing.T) {
	bin := buildLogger(t)
	path := filepath.Join(t.TempDir(), "ns_pod_uid", "app", "0.log")
	outR, outW := pipe(t)
	errR, errW := pipe(t)
	waitR, waitW := pipe(t)
	cmd := exec.Command(bin, crilog.Arg, path)
	cmd.Env = []string{"CONTAINER_ID=c1", "CONTAINER_NAMESPACE=skiff"}
	cmd.ExtraFiles = []*os.File{outR, errR, waitW}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outR.Close()
	errR.Close()
	waitW.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Ready: one byte, then EOF (the shim's check that ready was called).
	b, err := io.ReadAll(waitR)
	if err != nil || !bytes.Equal(b, []byte{0}) {
		t.Fatalf("ready pipe gave %v, %v; want one zero byte", b, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("ready before the log file exists: %v", err)
	}
	if _, err := io.WriteString(outW, "hello\nworld\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(errW, "oops\n"); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	errW.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("logger: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("logger did not exit within 10s of its streams closing")
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stdoutLines, stderrLines []string
	re := regexp.MustCompile(`^\S+Z (stdout|stderr) F (.*)$`)
	for _, l := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a CRI log line: %q in %q", l, got)
		}
		if m[1] == "stdout" {
			stdoutLines = append(stdoutLines, m[2])
		} else {
			stderrLines = append(stderrLines, m[2])
		}
	}
	if strings.Join(stdoutLines, ",") != "hello,world" || strings.Join(stderrLines, ",") != "oops" {
		t.Errorf("log %q: stdout %q, stderr %q", got, stdoutLines, stderrLines)
	}
}

func TestUsage(t *testing.T) {
	bin := buildLogger(t)
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"version"}, 0, "1.2.3-test\n"},
		{nil, 2, ""},
		{[]string{crilog.Arg}, 2, ""},
		{[]string{"kubelet"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || stdout.String() != tc.wantOut {
				t.Errorf("exit %d, stdout %q; want %d, %q (stderr %q)", code, stdout.String(), tc.wantCode, tc.wantOut, stderr.String())
			}
			if tc.wantCode != 0 && !strings.Contains(stderr.String(), "usage:") {
				t.Errorf("stderr %q has no usage", stderr.String())
			}
		})
	}
}

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}
