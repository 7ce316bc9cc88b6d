package runtime

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

// LoggerArg is the first argument the shim passes to the logging binary
// (Skiff's own executable) when it starts it for a container; the second is
// the log file. Programs that can act as Skiff's logger call
// RunLoggerIfInvoked first thing in main (and tests in TestMain).
const LoggerArg = "skiff-cri-logger"

// maxLogLine is the longest line written as one record; longer lines are
// split into partial (P) records, as containerd's CRI plugin does.
const maxLogLine = 16 * 1024

// RunLoggerIfInvoked turns the process into a container's log writer and
// never returns if its arguments are a logger invocation
// (`<binary> skiff-cri-logger <path>`); otherwise it returns at once.
func RunLoggerIfInvoked() {
	if len(os.Args) != 3 || os.Args[1] != LoggerArg {
		return
	}
	path := os.Args[2]
	logging.Run(func(ctx context.Context, cfg *logging.Config, ready func() error) error {
		return writeCRILog(path, cfg.Stdout, cfg.Stderr, ready)
	})
}

// writeCRILog copies the container's streams into path in the CRI log
// format: `<RFC3339Nano time> <stream> <F|P> <line>`.
func writeCRILog(path string, stdout, stderr io.Reader, ready func() error) error {
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
		br := bufio.NewReaderSize(r, maxLogLine)
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
					errs[i] = werr
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
					errs[i] = err
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
