package crilog

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// record is one parsed CRI log line.
type record struct{ stream, tag, line string }

var recordRE = regexp.MustCompile(`^(\S+) (stdout|stderr) (F|P) (.*)$`)

// readRecords parses path, checking every line's format and timestamp, and
// returns the records of each stream in order.
func readRecords(t *testing.T, path string) map[string][]record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]record{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4*MaxLine)
	for sc.Scan() {
		m := recordRE.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("not a CRI log line: %q", sc.Text())
		}
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || !strings.HasSuffix(m[1], "Z") {
			t.Fatalf("bad timestamp %q: %v", m[1], err)
		}
		if d := time.Since(ts); d < 0 || d > time.Minute {
			t.Fatalf("timestamp %s is %s from now", m[1], d)
		}
		out[m[2]] = append(out[m[2]], record{m[2], m[3], m[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWrite(t *testing.T) {
	long := strings.Repeat("x", MaxLine)
	tests := []struct {
		name           string
		existing       string
		stdout, stderr *string
		want           map[string][]record
	}{
		{
			name:   "lines of both streams",
			stdout: ptr("one\ntwo\n"), stderr: ptr("err\n"),
			want: map[string][]record{
				"stdout": {{"stdout", "F", "one"}, {"stdout", "F", "two"}},
				"stderr": {{"stderr", "F", "err"}},
			},
		},
		{
			name:   "last line without newline, empty line kept",
			stdout: ptr("a\n\nb"), stderr: nil,
			want: map[string][]record{"stdout": {{"stdout", "F", "a"}, {"stdout", "F", ""}, {"stdout", "F", "b"}}},
		},
		{
			name:   "long line split into partial records",
			stdout: ptr(long + "tail\nnext\n"), stderr: ptr(""),
			want: map[string][]record{"stdout": {{"stdout", "P", long}, {"stdout", "F", "tail"}, {"stdout", "F", "next"}}},
		},
		{
			name:     "appends to the file of an earlier logger",
			existing: "2026-01-02T03:04:05Z stdout F before\n",
			stdout:   ptr("after\n"),
			want:     nil, // checked by content below
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pod", "ctr", "0.log")
			if tc.existing != "" {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.existing), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			readyCalls := 0
			ready := func() error {
				readyCalls++
				if _, err := os.Stat(path); err != nil {
					t.Errorf("ready before the log file exists: %v", err)
				}
				return nil
			}
			if err := Write(path, reader(tc.stdout), reader(tc.stderr), ready); err != nil {
				t.Fatal(err)
			}
			if readyCalls != 1 {
				t.Errorf("ready called %d times, want 1", readyCalls)
			}
			if tc.existing != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(b), tc.existing) || !strings.HasSuffix(string(b), " stdout F after\n") {
					t.Errorf("log %q does not keep the earlier record and append the new one", b)
				}
				return
			}
			got := readRecords(t, path)
			for _, s := range []string{"stdout", "stderr"} {
				if len(got[s]) != len(tc.want[s]) {
					t.Fatalf("%s: %d records %v, want %d %v", s, len(got[s]), abbrev(got[s]), len(tc.want[s]), abbrev(tc.want[s]))
				}
				for i := range got[s] {
					if got[s][i] != tc.want[s][i] {
						t.Errorf("%s record %d: %v, want %v", s, i, abbrev(got[s][i:i+1]), abbrev(tc.want[s][i:i+1]))
					}
				}
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	errReady := errors.New("shim gone")
	tests := []struct {
		name  string
		path  string
		ready func() error
		want  string
	}{
		{"log dir cannot be created", filepath.Join(notDir, "ctr", "0.log"), func() error { return nil }, "create log dir"},
		{"ready fails", filepath.Join(dir, "0.log"), func() error { return errReady }, "shim gone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(tc.path, strings.NewReader("x\n"), nil, tc.ready)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestIsInvocation(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"/bin/skiff", Arg, "/var/log/pods/x/0.log"}, true},
		{[]string{"/bin/skiff-cri-logger", Arg, "/l"}, true},
		{[]string{"/bin/skiff", "kubelet", "--v=2"}, false},
		{[]string{"/bin/skiff", Arg}, false},
		{[]string{"/bin/skiff", Arg, "/l", "extra"}, false},
		{[]string{"/bin/skiff"}, false},
	}
	for _, tc := range tests {
		if got := IsInvocation(tc.args); got != tc.want {
			t.Errorf("IsInvocation(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	withSibling := t.TempDir()
	alone := t.TempDir()
	badSibling := t.TempDir()
	writeFile(t, filepath.Join(withSibling, "skiff"), 0o755)
	writeFile(t, filepath.Join(withSibling, BinaryName), 0o755)
	writeFile(t, filepath.Join(alone, "skiff"), 0o755)
	writeFile(t, filepath.Join(badSibling, "skiff"), 0o755)
	writeFile(t, filepath.Join(badSibling, BinaryName), 0o644)
	custom := filepath.Join(t.TempDir(), "my-logger")
	writeFile(t, custom, 0o700)
	tests := []struct {
		name, configured, self string
		want                   string
		wantSource             Source
		wantErr                bool
	}{
		{"configured wins over a sibling", custom, filepath.Join(withSibling, "skiff"), custom, SourceConfigured, false},
		{"sibling", "", filepath.Join(withSibling, "skiff"), filepath.Join(withSibling, BinaryName), SourceSibling, false},
		{"no sibling: self", "", filepath.Join(alone, "skiff"), filepath.Join(alone, "skiff"), SourceSelf, false},
		{"self is the logger", "", filepath.Join(withSibling, BinaryName), filepath.Join(withSibling, BinaryName), SourceSelf, false},
		{"configured missing", filepath.Join(alone, "nope"), filepath.Join(alone, "skiff"), "", "", true},
		{"configured not executable", filepath.Join(badSibling, BinaryName), filepath.Join(alone, "skiff"), "", "", true},
		{"configured directory", alone, filepath.Join(alone, "skiff"), "", "", true},
		{"sibling not executable", "", filepath.Join(badSibling, "skiff"), "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, src, err := resolve(tc.configured, tc.self)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("resolve = %s (%s), want an error", got, src)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || src != tc.wantSource {
				t.Errorf("resolve = %s (%s), want %s (%s)", got, src, tc.want, tc.wantSource)
			}
		})
	}
	t.Run("configured relative path made absolute", func(t *testing.T) {
		t.Chdir(filepath.Dir(custom))
		got, src, err := resolve(filepath.Base(custom), filepath.Join(alone, "skiff"))
		if err != nil || got != custom || src != SourceConfigured {
			t.Errorf("resolve = %s (%s) %v, want %s (configured)", got, src, err, custom)
		}
	})
}

func ptr(s string) *string { return &s }

func reader(s *string) io.Reader {
	if s == nil {
		return nil
	}
	return strings.NewReader(*s)
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

// abbrev shortens long record lines for failure messages.
func abbrev(rs []record) []record {
	out := make([]record, len(rs))
	for i, r := range rs {
		if len(r.line) > 40 {
			r.line = r.line[:20] + "..." + r.line[len(r.line)-10:]
		}
		out[i] = r
	}
	return out
}
