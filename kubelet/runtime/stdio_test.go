package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// safeBuffer is a bytes.Buffer for one writer and a polling reader.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAttachStdinAndTTY(t *testing.T) {
	for _, tc := range []struct {
		name             string
		stdinOnce, tty   bool
		script           string
		input            string
		wantOut, wantLog string
		// exits: the container ends once the attach's stdin ends.
		exits bool
	}{
		{name: "stdin", script: `read x; echo "got $x"; read y; echo "got $y"; echo err-line >&2; sleep 3600`,
			input: "one\ntwo\n", wantOut: "got one\ngot two\n", wantLog: "stdout F got two"},
		{name: "stdin-once", stdinOnce: true, script: `cat; echo "eof seen"`,
			input: "abc\n", wantOut: "abc\n", wantLog: "stdout F eof seen", exits: true},
		{name: "tty", tty: true, script: `stty size; read x; echo "tty got $x"; sleep 3600`,
			input: "hi\n", wantOut: "tty got hi", wantLog: "stdout F tty got hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPod("attach-"+tc.name, nil, []string{tc.script})
			c := &pod.Spec.Containers[0]
			c.Stdin, c.StdinOnce, c.TTY = true, tc.stdinOnce, tc.tty
			runPod(t, pod)
			sts, err := testRT.ListPodContainers(context.Background(), pod.UID)
			if err != nil || len(sts) != 1 || sts[0].State != ContainerRunning {
				t.Fatalf("containers %v, %v", sts, err)
			}
			id := sts[0].ID
			out, errOut := &safeBuffer{}, &safeBuffer{}
			inR, inW := io.Pipe()
			resize := make(chan TerminalSize, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- testRT.Attach(ctx, id, AttachOptions{Stdin: inR, Stdout: out, Stderr: errOut, TTY: tc.tty, Resize: resize})
			}()
			if tc.tty {
				resize <- TerminalSize{Width: 101, Height: 37}
				// The shell reads its size after the resize has been applied:
				// feed it only once a probe exec sees it.
				eventually(t, 10*time.Second, "terminal resized", func() (bool, string) {
					o, e, code, err := testRT.ExecSync(context.Background(), id, []string{"sh", "-c", "stty size < /proc/1/fd/0 2>&1 || true"}, 5*time.Second)
					return err == nil && code == 0 && strings.Contains(string(o), "37 101"), fmt.Sprintf("%q %q %v", o, e, err)
				})
			}
			if _, err := io.WriteString(inW, tc.input); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "attached output", func() (bool, string) {
				return strings.Contains(strings.ReplaceAll(out.String(), "\r\n", "\n"), tc.wantOut), out.String()
			})
			inW.Close()
			if tc.exits {
				eventually(t, 10*time.Second, "output after stdin closed", func() (bool, string) {
					return strings.Contains(out.String(), "abc\neof seen\n"), out.String()
				})
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("attach: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("attach did not end after stdin closed")
			}
			if tc.exits {
				st, err := testRT.WaitContainer(ctx, id)
				if err != nil || st.State != ContainerExited || st.ExitCode != 0 {
					t.Fatalf("after stdinOnce: %+v %v", st, err)
				}
			}
			if !tc.tty && !tc.exits {
				eventually(t, 10*time.Second, "stderr", func() (bool, string) {
					return strings.Contains(errOut.String(), "err-line"), errOut.String()
				})
			}
			fileHolds(t, sts[0].LogPath, tc.wantLog)
			if tc.tty {
				b, _ := os.ReadFile(sts[0].LogPath)
				if strings.Contains(string(b), "stderr") || strings.Contains(string(b), "\r") {
					t.Errorf("tty log has stderr or CR: %q", b)
				}
			}
		})
	}
}

// TestStdinSurvivesRuntimeRestart reopens the FIFOs of a running container
// from a second Runtime, as a restarted kubelet does: input still reaches
// it and its output still reaches the log.
func TestStdinSurvivesRuntimeRestart(t *testing.T) {
	rt := requireRuntime(t)
	pod := newPod("attach-restart", nil, []string{`while read x; do echo "line $x"; done`})
	pod.Spec.Containers[0].Stdin = true
	runPod(t, pod)
	sts, err := rt.ListPodContainers(context.Background(), pod.UID)
	if err != nil || len(sts) != 1 {
		t.Fatalf("containers %v, %v", sts, err)
	}
	id := sts[0].ID
	send := func(r *Runtime, line string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		inR, inW := io.Pipe()
		out := &safeBuffer{}
		done := make(chan error, 1)
		go func() { done <- r.Attach(ctx, id, AttachOptions{Stdin: inR, Stdout: out}) }()
		_, _ = io.WriteString(inW, line+"\n")
		eventually(t, 10*time.Second, "echo of "+line, func() (bool, string) {
			return strings.Contains(out.String(), "line "+line), out.String()
		})
		inW.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	send(rt, "first")

	// A second Runtime on the same data dir takes the FIFOs over once the
	// first lets go of them.
	rt.iosMu.Lock()
	ci := rt.ios[id]
	delete(rt.ios, id)
	rt.iosMu.Unlock()
	ci.close()
	<-ci.done
	again, err := New(context.Background(), Config{DataDir: rt.cfg.DataDir, ContainerdAddress: rt.supervisor.Address(),
		CgroupRoot: rt.cfg.CgroupRoot, Network: rt.cfg.Network})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	send(again, "second")
	fileHolds(t, sts[0].LogPath, "stdout F line second")
}

// TestStartErrorIsExited checks that a container whose command does not
// exist is reported exited with StartError and exit code 128, as CRI does,
// so the kubelet backs off instead of retrying at once.
func TestStartErrorIsExited(t *testing.T) {
	rt := requireRuntime(t)
	pod := newPod("start-error", nil, nil)
	t.Cleanup(func() { _ = rt.RemovePod(context.Background(), pod.UID) })
	ctx := context.Background()
	sb, _, err := rt.RunPodSandbox(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		stdin bool
	}{{"logger", false}, {"fifo", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Name: "bad-" + tc.name, Image: testImage, Command: []string{"/no/such/binary"}, Stdin: tc.stdin}
			id, err := rt.CreateContainer(ctx, sb, pod, c, CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = rt.StartContainer(ctx, id)
			if err == nil {
				t.Fatal("StartContainer succeeded")
			}
			st, err2 := rt.ContainerStatus(ctx, id)
			if err2 != nil {
				t.Fatal(err2)
			}
			if st.State != ContainerExited || st.ExitCode != StartErrorExitCode || st.Reason != ReasonStartError ||
				!strings.Contains(st.Message, "no/such/binary") || st.FinishedAt.IsZero() {
				t.Errorf("status = %+v; want Exited 128 StartError with the message", st)
			}
			rt.iosMu.Lock()
			_, held := rt.ios[id]
			rt.iosMu.Unlock()
			if held {
				t.Error("stdio of the failed container still held")
			}
		})
	}
}
