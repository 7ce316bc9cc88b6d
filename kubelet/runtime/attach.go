package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// AttachOptions are the streams of an attach to a running container.
type AttachOptions struct {
	// Stdin must be nil: Skiff's containers have their stdio wired to the
	// log writer, so there is no stdin to attach to.
	Stdin io.Reader
	// Stdout and Stderr receive what the container writes from now on (nil
	// drops that stream). With TTY both go to Stdout.
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize is drained and ignored (the container has no terminal).
	Resize <-chan TerminalSize
}

// ErrAttachStdin is returned when an attach asks for stdin.
var ErrAttachStdin = errors.New("stdin is not supported: the container's stdio is connected to its log writer")

// Attach streams what the running container containerID writes from now on
// until it exits or ctx ends. Output is taken from the container's CRI log
// (the only consumer of its stdio), so it arrives as lines, like
// `kubectl logs -f --tail=0`.
func (r *Runtime) Attach(ctx context.Context, containerID string, opts AttachOptions) error {
	if opts.Stdin != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, ErrAttachStdin)
	}
	st, err := r.ContainerStatus(ctx, containerID)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", containerID, err)
	}
	if st.State != ContainerRunning {
		return fmt.Errorf("attach to container %s: container is not running", containerID)
	}
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case _, ok := <-opts.Resize:
					if !ok {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
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
