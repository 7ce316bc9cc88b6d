package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"k8s.io/klog/v2"
)

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height uint16
}

// ExecOptions are the streams and settings of a command run in a container.
type ExecOptions struct {
	// Stdin feeds the command's standard input; nil means none. Its EOF
	// closes the command's stdin.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output (nil discards it).
	// With TTY, everything goes to Stdout.
	Stdout, Stderr io.Writer
	// TTY runs the command on a terminal.
	TTY bool
	// Resize carries terminal size changes (TTY only); may be nil.
	Resize <-chan TerminalSize
	// Timeout kills the command once passed; zero means none.
	Timeout time.Duration
}

// ErrExecTimeout is returned (wrapped) when a command outlives its timeout.
var ErrExecTimeout = errors.New("command timed out")

// ExecSync runs cmd in the running container containerID with the
// container's process settings (user, env, cwd, capabilities) and returns
// its output and exit code. A zero timeout means none; once it passes the
// command is killed and the error wraps ErrExecTimeout. err reports failures
// to run the command, not a non-zero exit code.
func (r *Runtime) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int, err error) {
	var outBuf, errBuf lockedBuffer
	exitCode, err = r.Exec(ctx, containerID, cmd, ExecOptions{Stdout: &outBuf, Stderr: &errBuf, Timeout: timeout})
	return outBuf.Bytes(), errBuf.Bytes(), exitCode, err
}

// Exec runs cmd in the running container containerID, streaming its stdio,
// and returns its exit code once it has exited and its output is copied.
// The command is killed when ctx ends or opts.Timeout passes.
func (r *Runtime) Exec(ctx context.Context, containerID string, cmd []string, opts ExecOptions) (int, error) {
	if len(cmd) == 0 {
		return -1, fmt.Errorf("exec in container %s: no command given", containerID)
	}
	nctx := r.ns(ctx)
	log := klog.FromContext(ctx).WithValues("containerID", containerID)
	c, err := r.client.LoadContainer(nctx, containerID)
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	spec, err := c.Spec(nctx)
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: read spec: %w", containerID, err)
	}
	task, err := c.Task(nctx, nil)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return -1, fmt.Errorf("exec in container %s: container is not running: %w", containerID, err)
		}
		return -1, fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	if st, err := task.Status(nctx); err != nil || st.Status != client.Running {
		return -1, fmt.Errorf("exec in container %s: container is not running", containerID)
	}
	pspec := *spec.Process
	pspec.Args = cmd
	pspec.Terminal = opts.TTY
	pspec.ConsoleSize = nil

	stdin := &stdinCloser{r: opts.Stdin}
	var streams []cio.Opt
	var in io.Reader
	if opts.Stdin != nil {
		in = stdin
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || opts.TTY {
		stderr = io.Discard
	}
	streams = append(streams, cio.WithStreams(in, stdout, stderr), cio.WithFIFODir(r.fifoDir))
	if opts.TTY {
		streams = append(streams, cio.WithTerminal)
	}
	execID := "exec-" + newID()[:20]
	p, err := task.Exec(nctx, execID, &pspec, cio.NewCreator(streams...))
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	// Cleanup must outlive a cancelled ctx.
	cleanupCtx := r.ns(context.WithoutCancel(ctx))
	defer func() {
		if _, err := p.Delete(cleanupCtx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			log.V(2).Info("Delete exec process", "execID", execID, "err", err)
		}
	}()
	stdin.set(cleanupCtx, p)
	exitC, err := p.Wait(nctx)
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: wait: %w", containerID, err)
	}
	if err := p.Start(nctx); err != nil {
		return -1, fmt.Errorf("exec in container %s: start: %w", containerID, err)
	}
	if opts.TTY && opts.Resize != nil {
		go func() {
			for {
				select {
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					if err := p.Resize(cleanupCtx, uint32(sz.Width), uint32(sz.Height)); err != nil {
						log.V(3).Info("Resize exec terminal", "err", err)
					}
				case <-exitC:
					return
				}
			}
		}()
	}
	var timeoutC <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	var st client.ExitStatus
	select {
	case st = <-exitC:
	case <-ctx.Done():
		_ = p.Kill(cleanupCtx, syscall.SIGKILL)
		<-exitC
		p.IO().Cancel()
		return -1, fmt.Errorf("exec in container %s: %w", containerID, ctx.Err())
	case <-timeoutC:
		_ = p.Kill(cleanupCtx, syscall.SIGKILL)
		<-exitC
		p.IO().Cancel()
		return -1, fmt.Errorf("exec in container %s: %w after %s", containerID, ErrExecTimeout, opts.Timeout)
	}
	// The output copiers finish once the shim closes the FIFOs; a process
	// that left children holding them is bounded by a grace period.
	ioDone := make(chan struct{})
	go func() { p.IO().Wait(); close(ioDone) }()
	select {
	case <-ioDone:
	case <-time.After(2 * time.Second):
		p.IO().Cancel()
	}
	code, _, err := st.Result()
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	return int(code), nil
}

// stdinCloser passes stdin through and, on its EOF, tells the shim to close
// the process's stdin (the FIFO alone is not enough for every shim). cio
// starts copying before the process is known, so EOF may come first.
type stdinCloser struct {
	r io.Reader

	mu  sync.Mutex
	ctx context.Context
	p   client.Process
	eof bool
}

func (s *stdinCloser) set(ctx context.Context, p client.Process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx, s.p = ctx, p
	if s.eof {
		go func() { _ = p.CloseIO(ctx, client.WithStdinCloser) }()
	}
}

func (s *stdinCloser) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if err != nil {
		s.mu.Lock()
		if !s.eof {
			s.eof = true
			if p, ctx := s.p, s.ctx; p != nil {
				go func() { _ = p.CloseIO(ctx, client.WithStdinCloser) }()
			}
		}
		s.mu.Unlock()
	}
	return n, err
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writers cio uses.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
