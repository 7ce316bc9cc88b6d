package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names inside an atomically written volume directory, as upstream's
// AtomicWriter has them.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// FileProjection is one file of a volume payload.
type FileProjection struct {
	Data []byte
	Mode os.FileMode
}

// WriteAtomic makes dir hold exactly payload (relative path → file) the way
// upstream's AtomicWriter does, so that a reader never sees a half-written
// update: the files are written into a fresh timestamped directory
// (..2006_01_02_15_04_05.NNNN), the ..data symlink is pointed at it by a
// rename, and each top-level name of the payload is a symlink into ..data.
// The old timestamped directory and the user-visible names no longer in
// the payload are removed afterwards. Writing an unchanged payload touches
// nothing. Files a container bind-mounted by subPath keep their old
// content, as upstream's do.
func WriteAtomic(dir string, payload map[string]FileProjection) error {
	top := map[string]bool{}
	clean := make(map[string]FileProjection, len(payload))
	for p, f := range payload {
		if err := validatePayloadPath(p); err != nil {
			return err
		}
		p = filepath.Clean(p)
		clean[p] = f
		first, _, _ := strings.Cut(filepath.ToSlash(p), "/")
		top[first] = true
	}
	payload = clean
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create volume dir %s: %w", dir, err)
	}
	oldTS, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if oldTS != "" && payloadEqual(filepath.Join(dir, oldTS), payload) {
		return errors.Join(linkVisible(dir, top), removeStale(dir, top, oldTS))
	}

	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return fmt.Errorf("create timestamped dir in %s: %w", dir, err)
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return err
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Chmod(full, f.Mode); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return fmt.Errorf("link %s: %w", tmpLink, err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return fmt.Errorf("swap %s: %w", dataDirName, err)
	}
	return errors.Join(linkVisible(dir, top), removeStale(dir, top, filepath.Base(tsDir)))
}

func validatePayloadPath(p string) error {
	if p == "" {
		return errors.New("invalid path: must not be empty")
	}
	if err := safeRelPath(p); err != nil {
		return err
	}
	if strings.HasPrefix(filepath.ToSlash(filepath.Clean(p)), "..") {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// payloadEqual reports whether tsDir holds exactly payload, modes included.
func payloadEqual(tsDir string, payload map[string]FileProjection) bool {
	seen := 0
	err := filepath.WalkDir(tsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tsDir, path)
		want, ok := payload[rel]
		if !ok || !d.Type().IsRegular() {
			return fs.ErrInvalid
		}
		fi, err := d.Info()
		if err != nil || fi.Mode().Perm() != want.Mode.Perm() {
			return fs.ErrInvalid
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, want.Data) {
			return fs.ErrInvalid
		}
		seen++
		return nil
	})
	return err == nil && seen == len(payload)
}

// linkVisible makes each top-level name a symlink into ..data, replacing
// whatever else is there (files written before volumes were atomic).
func linkVisible(dir string, top map[string]bool) error {
	var errs []error
	for name := range top {
		full := filepath.Join(dir, name)
		target := filepath.Join(dataDirName, name)
		if cur, err := os.Readlink(full); err == nil && cur == target {
			continue
		}
		if err := os.RemoveAll(full); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Symlink(target, full); err != nil {
			errs = append(errs, fmt.Errorf("link %s: %w", full, err))
		}
	}
	return errors.Join(errs...)
}

// removeStale deletes the user-visible names not in top and every
// timestamped directory but keep.
func removeStale(dir string, top map[string]bool, keep string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataDirName || name == keep || top[name]:
			continue
		case strings.HasPrefix(name, "..") && name != newDataDirName && !strings.HasPrefix(name, "..20"):
			continue // not ours
		}
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
