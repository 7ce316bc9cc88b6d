package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/kubelet/crilog"
)

// Stdio modes of a container, recorded in LabelStdio.
const (
	// StdioLogger: the shim hands stdout and stderr to the logging binary;
	// the container has no stdin. Output survives any kubelet restart.
	StdioLogger = ""
	// StdioFIFO: the kubelet holds the container's FIFOs (stdin and/or a
	// terminal), copies output to the log and to attached clients, and
	// feeds stdin from attaches, as containerd's CRI plugin does.
	StdioFIFO = "fifo"
)

// stdioMode is how container c's stdio is wired: through FIFOs the kubelet
// holds when it wants stdin or a terminal, else the shim's log writer.
func stdioMode(stdin, tty bool) string {
	if stdin || tty {
		return StdioFIFO
	}
	return StdioLogger
}

// containerIO is the kubelet-held stdio of one container: its FIFOs, the
// copiers writing its output to the CRI log and to attached streams, and
// the write end of its stdin.
type containerIO struct {
	id        string
	tty       bool
	stdinOnce bool
	dio       *cio.DirectIO
	// closeStdin tells the shim to close the process's stdin.
	closeStdin func() error

	stdout, stderr outputGroup
	// done is closed once every output stream has ended.
	done chan struct{}

	stdinMu     sync.Mutex
	stdinClosed bool
	closeOnce   sync.Once
}

// fifoSet is the FIFO paths of container id under dir: fixed names, so a
// restarted kubelet finds the FIFOs of running containers again.
func fifoSet(dir, id string, stdin, tty bool) *cio.FIFOSet {
	d := filepath.Join(dir, id)
	cfg := cio.Config{Stdout: filepath.Join(d, "stdout"), Terminal: tty}
	if stdin {
		cfg.Stdin = filepath.Join(d, "stdin")
	}
	if !tty {
		cfg.Stderr = filepath.Join(d, "stderr")
	}
	return cio.NewFIFOSet(cfg, nil)
}

// openContainerIO opens (creating if needed) the FIFOs of container id and
// starts copying its output into logPath and to attached streams.
func openContainerIO(ctx context.Context, fifoDir, id, logPath string, stdin, tty, stdinOnce bool, closeStdin func() error) (*containerIO, error) {
	if err := os.MkdirAll(filepath.Join(fifoDir, id), 0o700); err != nil {
		return nil, fmt.Errorf("create fifo dir: %w", err)
	}
	// The FIFOs open in the background until the shim opens its ends;
	// that must not depend on the caller's context.
	dio, err := cio.NewDirectIO(context.WithoutCancel(ctx), fifoSet(fifoDir, id, stdin, tty))
	if err != nil {
		return nil, fmt.Errorf("open fifos: %w", err)
	}
	ci := &containerIO{id: id, tty: tty, stdinOnce: stdinOnce, dio: dio, closeStdin: closeStdin, done: make(chan struct{})}

	outR, outW := io.Pipe()
	var errR *io.PipeReader
	var errW *io.PipeWriter
	if dio.Stderr != nil {
		errR, errW = io.Pipe()
	}
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		var stderr io.Reader
		if errR != nil {
			stderr = errR
		}
		if err := crilog.Write(logPath, outR, stderr, func() error { return nil }); err != nil {
			klog.FromContext(ctx).Error(err, "Writing container log failed", "containerID", id)
		}
		// Keep draining so the copiers never block on a failed log.
		go func() { _, _ = io.Copy(io.Discard, outR) }()
		if errR != nil {
			go func() { _, _ = io.Copy(io.Discard, errR) }()
		}
	}()
	var wg sync.WaitGroup
	pump := func(r io.Reader, log *io.PipeWriter, g *outputGroup) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_, _ = log.Write(buf[:n])
				g.write(buf[:n])
			}
			if err != nil {
				break
			}
		}
		_ = log.Close()
		g.close()
	}
	wg.Add(1)
	go pump(dio.Stdout, outW, &ci.stdout)
	if dio.Stderr != nil {
		wg.Add(1)
		go pump(dio.Stderr, errW, &ci.stderr)
	} else {
		ci.stderr.close()
	}
	go func() {
		wg.Wait()
		<-logDone
		close(ci.done)
	}()
	return ci, nil
}

// close stops the copiers and closes the kubelet's ends of the FIFOs. The
// shim keeps its own stdin writer, so the process's stdin stays open.
func (c *containerIO) close() {
	c.closeOnce.Do(func() {
		c.dio.Cancel()
		_ = c.dio.Close()
	})
}

// writeStdin writes to the process's stdin unless it has been closed.
func (c *containerIO) writeStdin(b []byte) (int, error) {
	c.stdinMu.Lock()
	defer c.stdinMu.Unlock()
	if c.stdinClosed || c.dio.Stdin == nil {
		return 0, io.ErrClosedPipe
	}
	return c.dio.Stdin.Write(b)
}

// closeStdinOnce closes the process's stdin for good (stdinOnce).
func (c *containerIO) closeStdinOnce() {
	c.stdinMu.Lock()
	defer c.stdinMu.Unlock()
	if c.stdinClosed {
		return
	}
	c.stdinClosed = true
	if c.dio.Stdin != nil {
		_ = c.dio.Stdin.Close()
	}
	if c.closeStdin != nil {
		_ = c.closeStdin()
	}
}

type stdinWriter struct{ c *containerIO }

func (w stdinWriter) Write(b []byte) (int, error) { return w.c.writeStdin(b) }

// attach connects the streams of opts to the container until its output
// ends, the client's stdin ends (a detach; with stdinOnce and no TTY it
// closes the process's stdin and the attach lasts until the output ends,
// as CRI does), or ctx ends.
func (c *containerIO) attach(ctx context.Context, opts AttachOptions) {
	stdout, stderr := opts.Stdout, opts.Stderr
	if c.tty {
		stderr = nil // a terminal has one output stream
	}
	var sinks []*sink
	var groups []*outputGroup
	if stdout != nil {
		sinks, groups = append(sinks, c.stdout.add(stdout)), append(groups, &c.stdout)
	}
	if stderr != nil {
		sinks, groups = append(sinks, c.stderr.add(stderr)), append(groups, &c.stderr)
	}
	defer func() {
		for i, s := range sinks {
			groups[i].remove(s)
		}
	}()
	detached := make(chan struct{})
	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(stdinWriter{c}, opts.Stdin)
			if c.stdinOnce && !c.tty {
				c.closeStdinOnce()
				return
			}
			close(detached)
		}()
	}
	outputsDone := make(chan struct{})
	go func() {
		for _, s := range sinks {
			<-s.done
		}
		if len(sinks) == 0 {
			<-c.done
		}
		close(outputsDone)
	}()
	select {
	case <-outputsDone:
	case <-detached:
	case <-ctx.Done():
	}
}

// outputGroup fans one output stream out to the attached writers.
type outputGroup struct {
	mu     sync.Mutex
	sinks  map[*sink]struct{}
	closed bool
}

type sink struct {
	w    io.Writer
	done chan struct{}
	once sync.Once
}

func (s *sink) finish() { s.once.Do(func() { close(s.done) }) }

func (g *outputGroup) add(w io.Writer) *sink {
	s := &sink{w: w, done: make(chan struct{})}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		s.finish()
		return s
	}
	if g.sinks == nil {
		g.sinks = map[*sink]struct{}{}
	}
	g.sinks[s] = struct{}{}
	return s
}

func (g *outputGroup) remove(s *sink) {
	g.mu.Lock()
	delete(g.sinks, s)
	g.mu.Unlock()
	s.finish()
}

// write hands b to every attached writer; one that fails is dropped.
func (g *outputGroup) write(b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range g.sinks {
		if _, err := s.w.Write(b); err != nil {
			delete(g.sinks, s)
			s.finish()
		}
	}
}

// close ends every attach of the stream: the container's output is over.
func (g *outputGroup) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for s := range g.sinks {
		s.finish()
	}
	g.sinks = nil
}

// containerIOFor returns the kubelet-held stdio of a running container
// whose labels ask for FIFOs, opening it again (after a kubelet restart)
// if this Runtime has not yet. It returns nil for logger-wired containers.
func (r *Runtime) containerIOFor(ctx context.Context, c client.Container, labels map[string]string) (*containerIO, error) {
	if labels[LabelStdio] != StdioFIFO {
		return nil, nil
	}
	r.iosMu.Lock()
	defer r.iosMu.Unlock()
	if ci, ok := r.ios[c.ID()]; ok {
		return ci, nil
	}
	if r.closed {
		return nil, errors.New("runtime is closed")
	}
	ci, err := openContainerIO(ctx, r.fifoDir, c.ID(), labels[LabelLogPath],
		labels[LabelStdin] == "true", labels[LabelTTY] == "true", labels[LabelStdinOnce] == "true", r.stdinCloser(c.ID()))
	if err != nil {
		return nil, fmt.Errorf("reopen stdio of container %s: %w", c.ID(), err)
	}
	r.ios[c.ID()] = ci
	klog.FromContext(ctx).V(1).Info("Reopened container stdio", "containerID", c.ID())
	return ci, nil
}

// stdinCloser closes the stdin of container id's task in the shim.
func (r *Runtime) stdinCloser(id string) func() error {
	return func() error {
		ctx := r.ns(context.Background())
		c, err := r.client.LoadContainer(ctx, id)
		if err != nil {
			return err
		}
		t, err := c.Task(ctx, nil)
		if err != nil {
			return err
		}
		return t.CloseIO(ctx, client.WithStdinCloser)
	}
}

// releaseIO forgets container id's stdio and removes its FIFOs. With
// drain the copiers first read what is left (the task has exited);
// otherwise (the task never ran) the FIFOs are closed at once.
func (r *Runtime) releaseIO(id string, drain bool) {
	r.iosMu.Lock()
	ci := r.ios[id]
	delete(r.ios, id)
	r.iosMu.Unlock()
	switch {
	case ci != nil && drain:
		go func() {
			<-ci.done
			ci.close()
		}()
	case ci != nil:
		ci.close()
	}
	_ = os.RemoveAll(filepath.Join(r.fifoDir, id))
}
