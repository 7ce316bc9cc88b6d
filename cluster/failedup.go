package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// undoFailedUp takes down what a failed first Up made. The components'
// logs, which the error points at, outlive the cluster's directory: they
// are copied to a directory of their own first and the error's paths are
// rewritten to the copies.
func (c *Cluster) undoFailedUp(upErr error) error {
	if err := c.Down(true); err != nil {
		return fmt.Errorf("%w (and removing what was made failed: %v; run skiff down)", upErr, err)
	}
	saved, saveErr := c.saveLogs()
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("%w (and removing %s failed: %v)", upErr, c.dir, err)
	}
	if saveErr != nil {
		return fmt.Errorf("%w (the components' logs are gone: %v)", upErr, saveErr)
	}
	if saved == "" {
		return upErr
	}
	return &failedUpError{err: upErr, from: c.dir, to: saved}
}

// saveLogs copies every logs directory under the cluster's directory, in
// the same layout, to a new temporary directory and returns it ("" when
// there were no logs).
func (c *Cluster) saveLogs() (string, error) {
	var logs []string
	err := filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && filepath.Base(filepath.Dir(path)) == "logs" {
			logs = append(logs, path)
		}
		return nil
	})
	if err != nil || len(logs) == 0 {
		return "", err
	}
	saved, err := os.MkdirTemp("", "skiff-up-"+c.cfg.Name+"-logs-")
	if err != nil {
		return "", fmt.Errorf("keep the logs: %w", err)
	}
	for _, l := range logs {
		rel, err := filepath.Rel(c.dir, l)
		if err != nil {
			return "", err
		}
		// The copy goes into a fresh directory, so it is never already there.
		if err := copyIfMissing(l, filepath.Join(saved, rel)); err != nil {
			return "", fmt.Errorf("keep the logs: %w", err)
		}
	}
	return saved, nil
}

// failedUpError is a failed Up's error once the cluster's directory is
// gone: the paths it names there are where their copies now are.
type failedUpError struct {
	err      error
	from, to string
}

func (e *failedUpError) Error() string {
	msg := strings.ReplaceAll(e.err.Error(), e.from+string(filepath.Separator), e.to+string(filepath.Separator))
	return msg + " (the cluster was removed; its logs are kept in " + e.to + ")"
}

func (e *failedUpError) Unwrap() error { return e.err }
