package crilog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BinaryName is the dedicated logger's file name; Binary looks for it next to
// the running executable.
const BinaryName = "skiff-cri-logger"

// Source says where Binary found the logging binary.
type Source string

const (
	// SourceConfigured: the path the caller gave (the kubelet's --cri-logger).
	SourceConfigured Source = "configured"
	// SourceSibling: skiff-cri-logger in the running executable's directory.
	SourceSibling Source = "sibling"
	// SourceSelf: the running executable itself, which must call
	// RunIfInvoked first thing in main.
	SourceSelf Source = "self"
)

// Binary returns the absolute path of the logging binary the shim should
// start for each container, in this order: configured if not empty (it must
// be an executable file), else BinaryName next to the running executable,
// else the running executable itself.
func Binary(configured string) (string, Source, error) {
	self, err := os.Executable()
	if err != nil && configured == "" {
		return "", "", fmt.Errorf("find own executable: %w", err)
	}
	return resolve(configured, self)
}

func resolve(configured, self string) (string, Source, error) {
	if configured != "" {
		p, err := filepath.Abs(configured)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", configured, err)
		}
		if err := checkExecutable(p); err != nil {
			return "", "", err
		}
		return p, SourceConfigured, nil
	}
	sibling := filepath.Join(filepath.Dir(self), BinaryName)
	if sibling != self {
		switch err := checkExecutable(sibling); {
		case err == nil:
			return sibling, SourceSibling, nil
		case !errors.Is(err, os.ErrNotExist):
			return "", "", fmt.Errorf("%s next to %s: %w", BinaryName, self, err)
		}
	}
	return self, SourceSelf, nil
}

// checkExecutable fails unless path is a regular file someone may execute.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file (mode %s)", path, fi.Mode())
	}
	return nil
}
