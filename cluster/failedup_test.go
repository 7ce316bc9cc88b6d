package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/apis/cluster/v1alpha1"
)

func TestSaveLogsOfFailedUp(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		wantSaved []string
	}{
		{name: "no logs yet", files: map[string]string{"config.yaml": "x"}},
		{name: "every node's logs, nothing else", files: map[string]string{
			"config.yaml":                           "kind: Cluster",
			"pki/ca.crt":                            "cert",
			"nodes/a-control-plane/logs/server.log": "server failed",
			"nodes/a-control-plane/logs/etcd.log":   "etcd",
			"nodes/a-worker/logs/kubelet.log":       "kubelet",
			"nodes/a-worker/data/logs-not-a-log":    "data",
		}, wantSaved: []string{"nodes/a-control-plane/logs/etcd.log", "nodes/a-control-plane/logs/server.log", "nodes/a-worker/logs/kubelet.log"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			c := &Cluster{cfg: v1alpha1.Default(1, 1), dir: filepath.Join(t.TempDir(), "a")}
			c.cfg.Name = "a"
			for p, content := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(c.dir, p)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(c.dir, p), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			saved, err := c.saveLogs()
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.wantSaved) == 0 {
				if saved != "" {
					t.Errorf("saved logs in %s, want none", saved)
				}
				return
			}
			var got []string
			if err := filepath.WalkDir(saved, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					rel, _ := filepath.Rel(saved, p)
					got = append(got, rel)
					if b, _ := os.ReadFile(p); string(b) != tc.files[rel] {
						t.Errorf("%s holds %q, want %q", rel, b, tc.files[rel])
					}
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantSaved) {
				t.Errorf("saved %v, want %v", got, tc.wantSaved)
			}
			upErr := fmt.Errorf("node a-worker did not become Ready: see %s", filepath.Join(c.dir, "nodes", "a-worker", "logs", "kubelet.log"))
			err = &failedUpError{err: upErr, from: c.dir, to: saved}
			if want := filepath.Join(saved, "nodes", "a-worker", "logs", "kubelet.log"); !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), c.dir+"/") {
				t.Errorf("error %q does not point at the kept copy %s", err, want)
			}
			if !errors.Is(err, upErr) {
				t.Errorf("the error does not wrap Up's")
			}
		})
	}
}
