package crilog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/runtime/v2/logging"
)

// Arg is the first argument the shim passes to the logging binary when it
// starts it for a container; the second is the log file.
const Arg = "skiff-cri-logger"

// MaxLine is the longest line written as one record; longer lines are split
// into partial (P) records, as containerd's CRI plugin does.
const MaxLine = 16 * 1024

// IsInvocation reports whether args (os.Args) are a logger invocation,
// `<binary> skiff-cri-logger <path>`.
func IsInvocation(args []string) bool {
	return len(args) == 3 && args[1] == Arg
}

// RunIfInvoked turns the process into a container's log writer and never
// returns if its arguments are a logger invocation; otherwise it returns at
// once.
func RunIfInvoked() {
	if !IsInvocation(os.Args) {
		return
	}
	path := os.Args[2]
	// logging.Run takes the streams from the fds the shim passes, exits 0
	// when fn returns nil, and 1 (after printing the error) otherwise.
	logging.Run(func(_ context.Context, cfg *logging.Config, ready func() error) error {
		return Write(path, cfg.Stdout, cfg.Stderr, ready)
	})
}

// Write copies stdout and stderr (either may be nil) into path in the CRI
// log format until both end. It creates path's directory, appends to path,
// and calls ready once the file is open (the shim waits for it before
// starting the container). Records of the two streams never interleave.
func Write(path string, stdout, stderr io.Reader, ready func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	defer f.Close()
	if err := ready(); err != nil {
		return fmt.Errorf("signal logger ready: %w", err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 2)
	copyStream := func(i int, name string, r io.Reader) {
		defer wg.Done()
		if r == nil {
			return
		}
		br := bufio.NewReaderSize(r, MaxLine)
		for {
			line, isPrefix, err := br.ReadLine()
			if len(line) > 0 || (err == nil && !isPrefix) {
				tag := "F"
				if isPrefix {
					tag = "P"
				}
				mu.Lock()
				_, werr := fmt.Fprintf(f, "%s %s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), name, tag, line)
				mu.Unlock()
				if werr != nil {
					errs[i] = fmt.Errorf("write %s record: %w", name, werr)
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
					errs[i] = fmt.Errorf("read %s: %w", name, err)
				}
				return
			}
		}
	}
	wg.Add(2)
	go copyStream(0, "stdout", stdout)
	go copyStream(1, "stderr", stderr)
	wg.Wait()
	return errors.Join(errs...)
}
