package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// logFollowInterval is how often a followed log is polled for new records
// (and its container for having exited) once its end is reached.
const logFollowInterval = 200 * time.Millisecond

// LogOptions are the kubelet's log reading options, derived from
// corev1.PodLogOptions by NewLogOptions.
type LogOptions struct {
	// Since drops records older than it (zero: keep all).
	Since time.Time
	// Tail keeps only the last Tail lines; negative means all.
	Tail int64
	// LimitBytes stops after that many bytes; negative means no limit.
	LimitBytes int64
	// Follow keeps reading new records until the container has exited or
	// ctx ends.
	Follow bool
	// Timestamps prefixes every record with its RFC3339Nano time.
	Timestamps bool
}

// NewLogOptions converts PodLogOptions as the kubelet does; now anchors
// sinceSeconds.
func NewLogOptions(o *corev1.PodLogOptions, now time.Time) LogOptions {
	lo := LogOptions{Tail: -1, LimitBytes: -1}
	if o == nil {
		return lo
	}
	if o.SinceSeconds != nil {
		lo.Since = now.Add(-time.Duration(*o.SinceSeconds) * time.Second)
	}
	if o.SinceTime != nil && o.SinceTime.After(lo.Since) {
		lo.Since = o.SinceTime.Time
	}
	if o.TailLines != nil {
		lo.Tail = *o.TailLines
	}
	if o.LimitBytes != nil {
		lo.LimitBytes = *o.LimitBytes
	}
	lo.Follow = o.Follow
	lo.Timestamps = o.Timestamps
	return lo
}

// errLogLimit ends reading once LimitBytes are written.
var errLogLimit = errors.New("log byte limit reached")

// ReadLogs writes the CRI-format log file at path to stdout and stderr (by
// the stream each record came from; either may be nil to drop that stream)
// as the kubelet serves containerLogs. With Follow it keeps going until the
// container containerID is no longer running and the file is drained, or
// ctx ends (which is not an error).
func (r *Runtime) ReadLogs(ctx context.Context, containerID, path string, opts LogOptions, stdout, stderr io.Writer) error {
	running := func() bool {
		if containerID == "" {
			return false
		}
		st, err := r.ContainerStatus(ctx, containerID)
		return err == nil && st.State != ContainerExited
	}
	return ReadCRILog(ctx, path, opts, running, stdout, stderr)
}

// ReadCRILog is ReadLogs over a log file alone; running says whether its
// writer may still append (consulted only when following).
func ReadCRILog(ctx context.Context, path string, opts LogOptions, running func() bool, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log file %q: %w", path, err)
	}
	defer f.Close()
	if opts.Tail >= 0 {
		off, err := tailOffset(f, opts.Tail)
		if err != nil {
			return fmt.Errorf("find tail of log file %q: %w", path, err)
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("seek log file %q: %w", path, err)
		}
	}
	w := &logWriter{stdout: stdout, stderr: stderr, opts: opts, remaining: opts.LimitBytes}
	br := bufio.NewReader(f)
	var pending []byte // a record not yet ended by a newline
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if err == nil {
				rec := line
				if len(pending) > 0 {
					rec = append(pending, line...)
					pending = nil
				}
				if werr := w.writeRecord(rec[:len(rec)-1]); werr != nil {
					if errors.Is(werr, errLogLimit) {
						return nil
					}
					return werr
				}
			} else {
				pending = append(pending, line...)
			}
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log file %q: %w", path, err)
		}
		if !opts.Follow {
			return nil
		}
		// At the end: stop once the writer is gone and nothing more came.
		alive := running()
		if !alive {
			more, err := hasMore(f, br)
			if err != nil {
				return fmt.Errorf("read log file %q: %w", path, err)
			}
			if !more {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(logFollowInterval):
		}
	}
}

// hasMore reports whether the file has grown past what br has consumed.
func hasMore(f *os.File, br *bufio.Reader) (bool, error) {
	if br.Buffered() > 0 {
		return true, nil
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	return fi.Size() > pos, nil
}

// tailOffset returns the offset at which the last n lines of f start.
func tailOffset(f *os.File, n int64) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if n == 0 {
		return size, nil
	}
	const block = 4096
	end := size
	// A final newline ends the last line; it does not start a new one.
	var found int64 = -1
	buf := make([]byte, block)
	for end > 0 {
		start := max(end-block, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			found++
			if found == n {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// logWriter writes parsed CRI records to their stream.
type logWriter struct {
	stdout, stderr io.Writer
	opts           LogOptions
	remaining      int64 // negative: unlimited
}

// writeRecord writes one `<time> <stream> <P|F> <content>` record; a
// malformed record is skipped, as upstream does.
func (w *logWriter) writeRecord(rec []byte) error {
	ts, rest, ok := bytes.Cut(rec, []byte{' '})
	if !ok {
		return nil
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return nil
	}
	tag, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// An empty line may be written without the separator.
		tag, content = rest, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return nil
	}
	if !w.opts.Since.IsZero() && t.Before(w.opts.Since) {
		return nil
	}
	var out io.Writer
	switch string(stream) {
	case "stdout":
		out = w.stdout
	case "stderr":
		out = w.stderr
	default:
		return nil
	}
	if out == nil {
		return nil
	}
	var msg []byte
	if w.opts.Timestamps {
		msg = append(msg, t.Format(time.RFC3339Nano)...)
		msg = append(msg, ' ')
	}
	msg = append(msg, content...)
	if !bytes.HasPrefix(tag, []byte("P")) {
		msg = append(msg, '\n')
	}
	limited := false
	if w.remaining >= 0 && int64(len(msg)) >= w.remaining {
		msg, limited = msg[:w.remaining], true
	}
	if len(msg) > 0 {
		if _, err := out.Write(msg); err != nil {
			return fmt.Errorf("write log: %w", err)
		}
	}
	if w.remaining >= 0 {
		w.remaining -= int64(len(msg))
	}
	if limited {
		return errLogLimit
	}
	return nil
}
