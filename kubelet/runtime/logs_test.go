package runtime

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadCRILog(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339Nano) }
	content := ts(0) + " stdout F one\n" +
		ts(1) + " stderr F err\n" +
		ts(2) + " stdout P par\n" +
		ts(2) + " stdout F tial\n" +
		"garbage line\n" +
		ts(3) + " stdout F three\n"
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    LogOptions
		wantOut string
		wantErr string
	}{
		{"all", LogOptions{Tail: -1, LimitBytes: -1}, "one\npartial\nthree\n", "err\n"},
		{"tail 2", LogOptions{Tail: 2, LimitBytes: -1}, "three\n", ""},
		{"tail 0", LogOptions{Tail: 0, LimitBytes: -1}, "", ""},
		{"since", LogOptions{Tail: -1, LimitBytes: -1, Since: t0.Add(1500 * time.Millisecond)}, "partial\nthree\n", ""},
		{"limit shared by both streams", LogOptions{Tail: -1, LimitBytes: 6}, "one\n", "er"},
		{"timestamps", LogOptions{Tail: 1, LimitBytes: -1, Timestamps: true}, ts(3) + " three\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := ReadCRILog(context.Background(), path, tc.opts, func() bool { return false }, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.wantOut || errOut.String() != tc.wantErr {
				t.Errorf("got %q / %q, want %q / %q", out.String(), errOut.String(), tc.wantOut, tc.wantErr)
			}
		})
	}
}
