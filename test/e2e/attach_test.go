package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// stdinPod keeps its stdin open (no stdinOnce): every attach may feed it.
const stdinPod = `apiVersion: v1
kind: Pod
metadata:
  name: stdin
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: skiff.dev/busybox:static
    stdin: true
    command: ["sh", "-c", "while read x; do echo \"echo:$x\"; done"]
`

// nodeOverrides binds a `kubectl run` pod to the test node (there is no
// scheduler).
const nodeOverrides = `{"apiVersion":"v1","spec":{"nodeName":"e2e-node","terminationGracePeriodSeconds":1}}`

// interactive is a kubectl process whose stdin and output the test drives
// while it runs: through pipes, or a pseudo-terminal (with a window size)
// when tty is set.
type interactive struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *syncBuffer
	pty  *os.File // the terminal's master side, when tty
	done chan error
}

// startInteractive starts kubectl (a command line) with args against
// kubeconfig.
func startInteractive(t *testing.T, kubectl []string, kubeconfig string, tty bool, args ...string) *interactive {
	t.Helper()
	cmd := exec.Command(kubectl[0], append(kubectl[1:], args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "TERM=xterm")
	it := &interactive{cmd: cmd, out: &syncBuffer{}, done: make(chan error, 1)}
	var copyFrom io.Reader
	if tty {
		master, slave, err := openPTY()
		if err != nil {
			t.Fatal(err)
		}
		if err := setWinsize(master, 40, 120); err != nil {
			t.Fatal(err)
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		it.in, it.pty, copyFrom = master, master, master
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
	} else {
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		it.in = in
		cmd.Stdout, cmd.Stderr = it.out, it.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	copied := make(chan struct{})
	if copyFrom != nil {
		go func() { _, _ = io.Copy(it.out, copyFrom); close(copied) }()
	} else {
		close(copied)
	}
	go func() {
		err := cmd.Wait()
		if it.pty != nil {
			// The reader sees EIO once the last slave fd is gone.
			select {
			case <-copied:
			case <-time.After(5 * time.Second):
			}
		}
		it.done <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if it.pty != nil {
			it.pty.Close()
		}
	})
	return it
}

// expect waits until the output (CRs dropped) matches re.
func (it *interactive) expect(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile(`(?m)` + re)
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		if rx.MatchString(strings.ReplaceAll(it.out.String(), "\r", "")) {
			return true, nil
		}
		select {
		case err := <-it.done:
			it.done <- err
			return false, fmt.Errorf("kubectl exited: %v", err)
		default:
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("kubectl output matching %s: %v; output:\n%q", re, err, it.out.String())
	}
}

func (it *interactive) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(it.in, s); err != nil {
		t.Fatalf("write to kubectl: %v", err)
	}
}

// wait waits for kubectl to exit and returns its error.
func (it *interactive) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-it.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("kubectl did not exit; output:\n%s", it.out.String())
		return nil
	}
}

// openPTY opens a pseudo-terminal pair with /dev/ptmx.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return master, slave, nil
}

// setWinsize sets the terminal's size; the kernel sends SIGWINCH to its
// foreground process group, which is how kubectl learns of a resize.
func setWinsize(f *os.File, rows, cols uint16) error {
	return unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}

// testAttachAndTTY runs the stdin and terminal scenarios with one kubectl:
// `kubectl run -i --rm` fed on stdin, `kubectl run -it --rm` with a shell
// on a terminal, `kubectl attach -i`, and `kubectl exec -it` honouring
// resizes.
func testAttachAndTTY(t *testing.T, e *kubeletEnv, name string, kubectl []string, seq int) {
	kubeconfig := e.api.kubeconfig()
	podGone := func(t *testing.T, pod string) {
		t.Helper()
		pollE2E(t, 60*time.Second, "pod "+pod+" removed", func(ctx context.Context) (bool, error) {
			_, err := e.client.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
	t.Run(name+"/run -i --rm", func(t *testing.T) {
		pod := fmt.Sprintf("run-i-%d", seq)
		run := kubectlRunner(kubectl, kubeconfig)
		out, err := run("hello\n", "run", pod, "-i", "--rm", "--restart=Never", "--image=skiff.dev/busybox:static",
			"--overrides="+nodeOverrides, "--pod-running-timeout=60s", "--", "sh", "-c", "read x; echo got $x")
		if err != nil {
			t.Fatalf("kubectl run -i: %v\n%s\nkubelet log:\n%s", err, out, tail(e.kubelet.out.String(), 30))
		}
		if !regexp.MustCompile(`(?m)^got hello\r?$`).MatchString(out) || !strings.Contains(out, `pod "`+pod+`" deleted`) {
			t.Errorf("kubectl run -i --rm output:\n%s", out)
		}
		podGone(t, pod)
	})
	t.Run(name+"/run -it --rm", func(t *testing.T) {
		pod := fmt.Sprintf("run-it-%d", seq)
		it := startInteractive(t, kubectl, kubeconfig, true, "run", pod, "-it", "--rm", "--restart=Never",
			"--image=skiff.dev/busybox:static", "--overrides="+nodeOverrides, "--pod-running-timeout=60s", "--", "sh")
		it.expect(t, `If you don't see a command prompt, try pressing enter`)
		// The prompt comes without a newline: raw terminal output.
		it.send(t, "\n")
		it.expect(t, `/ # `)
		it.send(t, "echo typed-$((6*7)); tty\n")
		it.expect(t, `^typed-42$`)
		it.expect(t, `^/dev/pts/\d+$`)
		it.send(t, "exit\n")
		if err := it.wait(t); err != nil {
			t.Fatalf("kubectl run -it: %v\n%s", err, it.out.String())
		}
		podGone(t, pod)
	})
	t.Run(name+"/attach -i", func(t *testing.T) {
		// Two attaches in turn: detaching (stdin closed) leaves the
		// container and its stdin to the next one.
		for _, word := range []string{"ping", "pong"} {
			it := startInteractive(t, kubectl, kubeconfig, false, "attach", "-i", "stdin")
			it.send(t, word+"\n")
			it.expect(t, `^echo:`+word+`$`)
			it.in.Close()
			if err := it.wait(t); err != nil {
				t.Fatalf("kubectl attach -i: %v\n%s", err, it.out.String())
			}
		}
		p := e.pod(t, "stdin")
		if cs := p.Status.ContainerStatuses[0]; cs.State.Running == nil || cs.RestartCount != 0 {
			t.Errorf("stdin pod after the attaches: %+v", cs)
		}
	})
	t.Run(name+"/exec -it", func(t *testing.T) {
		it := startInteractive(t, kubectl, kubeconfig, true, "exec", "-it", "web", "--", "sh")
		it.expect(t, `/ # `)
		// The initial size travels like a resize (kubectl sends it once
		// the stream is up): ask until the shell has it.
		pollE2E(t, 30*time.Second, "initial terminal size", func(context.Context) (bool, error) {
			it.send(t, "stty size\n")
			return strings.Contains(strings.ReplaceAll(it.out.String(), "\r", ""), "\n40 120\n"), nil
		})
		it.send(t, "tty\n")
		it.expect(t, `^/dev/pts/\d+$`)
		if err := setWinsize(it.pty, 50, 132); err != nil {
			t.Fatal(err)
		}
		// The resize travels kubectl → API server → kubelet → shim
		// asynchronously: ask until the shell sees it.
		pollE2E(t, 30*time.Second, "resized terminal", func(context.Context) (bool, error) {
			it.send(t, "stty size\n")
			return strings.Contains(strings.ReplaceAll(it.out.String(), "\r", ""), "\n50 132\n"), nil
		})
		it.send(t, "exit 3\n")
		err := it.wait(t)
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
			t.Errorf("kubectl exec -it exit: %v\n%s", err, it.out.String())
		}
	})
}
