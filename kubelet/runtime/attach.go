package runtime

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/klog/v2"
)

// AttachOptions are the streams of an attach to a running container.
type AttachOptions struct {
	// Stdin feeds the container's stdin when it has one (stdin: true);
	// otherwise it is ignored, as CRI ignores it. Its end detaches, and
	// with stdinOnce (and no TTY) closes the container's stdin.
	Stdin io.Reader
	// Stdout and Stderr receive what the container writes from now on (nil
	// drops that stream). With TTY both go to Stdout.
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize carries terminal size changes, applied to a container with a
	// terminal and drained otherwise; may be nil.
	Resize <-chan TerminalSize
}

// Attach connects to the running container containerID until it exits,
// the client detaches or ctx ends. A container with stdin or a terminal
// streams its output raw, as written, and takes stdin; any other has its
// output taken from its CRI log (the shim's log writer is the only
// consumer of its stdio), so it arrives as lines, like
// `kubectl logs -f --tail=0`.
func (r *Runtime) Attach(ctx context.Context, containerID string, opts AttachOptions) error {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, containerID)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	st, err := r.statusOf(nctx, c)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	if st.State != ContainerRunning {
		return fmt.Errorf("attach to container %s: container is not running", containerID)
	}
	labels, err := c.Labels(nctx)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	ci, err := r.containerIOFor(nctx, c, labels)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	attachCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Resize != nil {
		go r.applyResizes(attachCtx, containerID, ci != nil && ci.tty, opts.Resize)
	}
	if ci != nil {
		if ci.dio.Stdin == nil {
			opts.Stdin = nil
		}
		ci.attach(attachCtx, opts)
		return nil
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if opts.TTY {
		stderr = stdout
	}
	lo := LogOptions{Tail: 0, LimitBytes: -1, Follow: true, Since: time.Now()}
	if err := r.ReadLogs(ctx, containerID, st.LogPath, lo, stdout, stderr); err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	return nil
}

// applyResizes resizes the terminal of container id's process (when it has
// one) to each size received, until ctx ends or the channel closes.
func (r *Runtime) applyResizes(ctx context.Context, id string, tty bool, sizes <-chan TerminalSize) {
	for {
		select {
		case sz, ok := <-sizes:
			if !ok {
				return
			}
			if !tty {
				continue
			}
			if err := r.resizeTask(ctx, id, sz); err != nil {
				klog.FromContext(ctx).V(1).Info("Resize container terminal", "containerID", id, "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}

func (r *Runtime) resizeTask(ctx context.Context, id string, sz TerminalSize) error {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, id)
	if err != nil {
		return err
	}
	t, err := c.Task(nctx, nil)
	if err != nil {
		return err
	}
	return t.Resize(nctx, uint32(sz.Width), uint32(sz.Height))
}
