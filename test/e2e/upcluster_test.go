package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// upTestCluster is one test's `skiff up` cluster: its config and kubeconfig
// in a short temporary directory (a node's containerd socket lives under
// it), and a `skiff down` when the test ends unless the test took the
// cluster down itself.
type upTestCluster struct {
	name, dir, state, config, kubeconfig string
	// downDone is set once the test ran `skiff down` itself.
	downDone bool
}

func newUpTestCluster(t *testing.T, name, tmpPrefix, config string) *upTestCluster {
	t.Helper()
	dir, err := os.MkdirTemp("", tmpPrefix)
	if err != nil {
		t.Fatal(err)
	}
	c := &upTestCluster{name: name, dir: dir, state: filepath.Join(dir, "state"),
		config: filepath.Join(dir, "cluster.yaml"), kubeconfig: filepath.Join(dir, "kubeconfig")}
	if err := os.WriteFile(c.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !c.downDone {
			if out, err := c.skiff("down", "--name", name, "--state-dir", c.state); err != nil {
				t.Errorf("skiff down in cleanup: %v\n%s", err, out)
			}
		}
		os.RemoveAll(dir)
	})
	return c
}

// skiff runs the skiff binary, returning its combined output.
func (c *upTestCluster) skiff(args ...string) (string, error) {
	out, err := exec.Command(skiffBinary, args...).CombinedOutput()
	return string(out), err
}

// up runs `skiff up` with the cluster's config and fails the test if it
// fails.
func (c *upTestCluster) up(t *testing.T) {
	t.Helper()
	start := time.Now()
	out, err := c.skiff("up", "--config", c.config, "--state-dir", c.state, "--kubeconfig-out", c.kubeconfig, "--wait", "2m")
	if err != nil {
		t.Fatalf("skiff up: %v\n%s", err, out)
	}
	t.Logf("skiff up took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
}

// downLeavesNothing runs `skiff down` (which itself fails if it finds
// anything of the cluster left) and checks the host independently: no
// process naming the state directory, no cluster directory, cgroup or
// mount, and no address of the node subnet (given as a prefix such as
// "172.31.232.").
func (c *upTestCluster) downLeavesNothing(t *testing.T, subnetPrefix string) {
	t.Helper()
	out, err := c.skiff("down", "--name", c.name, "--state-dir", c.state)
	c.downDone = true
	if err != nil {
		t.Fatalf("skiff down: %v\n%s", err, out)
	}
	if left := processesMentioning(c.state); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(c.state, c.name)); err == nil {
		t.Errorf("%s is still there", filepath.Join(c.state, c.name))
	}
	for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu"} {
		if _, err := os.Stat(filepath.Join(root, "skiff-"+c.name)); err == nil {
			t.Errorf("cgroup %s left", filepath.Join(root, "skiff-"+c.name))
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), c.state) {
		t.Errorf("mounts under %s left", c.state)
	}
	addrs, _ := exec.Command("ip", "-o", "addr").Output()
	if strings.Contains(string(addrs), subnetPrefix) {
		t.Errorf("addresses of %s* left:\n%s", subnetPrefix, addrs)
	}
}
