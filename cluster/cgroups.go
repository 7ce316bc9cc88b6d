package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/skiff-dev/skiff/internal/cgroups"
)

// cfsPeriod is the CFS period a node's CPU quota is set against (µs).
const cfsPeriod = 100000

// cgroupRoot is the cluster's cgroup, relative to each hierarchy's root.
func (c *Cluster) cgroupRoot() string { return "skiff-" + c.cfg.Name }

// nodeCgroup is a node's cgroup, relative to each hierarchy's root: its
// daemons run in children of it (cgroup2), its pods below kubepods.
func (c *Cluster) nodeCgroup(n *node) string { return filepath.Join(c.cgroupRoot(), n.name()) }

// componentCgroup is the cgroup2 directory a node's daemon starts in.
func (c *Cluster) componentCgroup(mounts []cgroups.Mount, n *node, component string) string {
	return filepath.Join(cgroups.Unified(mounts), c.nodeCgroup(n), component)
}

// ensureNodeCgroup creates the node's cgroup and sets its CPU and memory
// limits (none: unlimited), which the kubelet reports as capacity.
func (c *Cluster) ensureNodeCgroup(mounts []cgroups.Mount, n *node) error {
	unified := cgroups.Unified(mounts)
	if unified == "" {
		return errors.New("no cgroup2 hierarchy is mounted: the proxy's socket hooks and the daemons' cgroups need one (mount -t cgroup2 none /sys/fs/cgroup/unified)")
	}
	if err := os.MkdirAll(filepath.Join(unified, c.nodeCgroup(n)), 0o755); err != nil {
		return fmt.Errorf("node %s: create cgroup: %w", n.name(), err)
	}
	memory, cpu := int64(-1), int64(-1)
	if q := n.spec.Resources.Memory; q != nil {
		memory = q.Value()
	}
	if q := n.spec.Resources.CPU; q != nil {
		cpu = q.MilliValue() * cfsPeriod / 1000
	}
	if dir := cgroups.Controller(mounts, "memory"); dir != "" {
		dir = filepath.Join(dir, c.nodeCgroup(n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("node %s: create memory cgroup: %w", n.name(), err)
		}
		if err := writeCgroup(dir, "memory.limit_in_bytes", memory); err != nil {
			return fmt.Errorf("node %s: %w", n.name(), err)
		}
	} else if memory > 0 {
		return fmt.Errorf("node %s: resources.memory needs the memory cgroup controller, which is not mounted", n.name())
	}
	if dir := cgroups.Controller(mounts, "cpu"); dir != "" {
		dir = filepath.Join(dir, c.nodeCgroup(n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("node %s: create cpu cgroup: %w", n.name(), err)
		}
		if err := writeCgroup(dir, "cpu.cfs_period_us", cfsPeriod); err != nil {
			return fmt.Errorf("node %s: %w", n.name(), err)
		}
		if err := writeCgroup(dir, "cpu.cfs_quota_us", cpu); err != nil {
			return fmt.Errorf("node %s: %w", n.name(), err)
		}
	} else if cpu > 0 {
		return fmt.Errorf("node %s: resources.cpu needs the cpu cgroup controller, which is not mounted", n.name())
	}
	return nil
}

func writeCgroup(dir, file string, v int64) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(v, 10)), 0o644); err != nil {
		return fmt.Errorf("set %s: %w", filepath.Join(dir, file), err)
	}
	return nil
}

// killNode kills every process left in the node's cgroups: its daemons and
// the containers and shims they started.
func (c *Cluster) killNode(mounts []cgroups.Mount, n *node) error {
	return cgroups.Kill(mounts, c.nodeCgroup(n), 20*time.Second)
}
