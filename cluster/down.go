package cluster

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cluster/daemon"
	"github.com/skiff-dev/skiff/internal/cgroups"
	"github.com/skiff-dev/skiff/internal/mountinfo"
)

// stopGrace is how long a daemon gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// Down removes everything the cluster made on the host: its daemons and
// every process they started (containers included), mounts under its
// directory (the proxies' bpffs with their pins among them), cgroups,
// network namespaces, veths and the bridge, and, unless keepData, its
// directory. It carries on past failures and reports them all, keeping the
// directory then so that it can be run again.
func (c *Cluster) Down(keepData bool) error {
	var errs []error
	mounts, err := cgroups.Mounts()
	if err != nil {
		return err
	}
	// Every node's daemons stop before any etcd member does: an API
	// server shutting down still writes (its endpoint Lease), which
	// needs the members' quorum.
	stop := func(n *node, etcd bool) {
		comps := c.components(n)
		for j := len(comps) - 1; j >= 0; j-- {
			if (comps[j] == componentEtcd) != etcd {
				continue
			}
			s, err := c.spec(mounts, n, comps[j])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := daemon.Stop(s, stopGrace); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i := len(c.nodes) - 1; i >= 0; i-- {
		stop(c.nodes[i], false)
	}
	for i := len(c.nodes) - 1; i >= 0; i-- {
		n := c.nodes[i]
		stop(n, true)
		if err := c.killNode(mounts, n); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ha() {
		if err := daemon.Stop(c.balancerSpec(mounts), stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountUnder(c.dir); err != nil {
		errs = append(errs, err)
	}
	if err := cgroups.Remove(mounts, c.cgroupRoot()); err != nil {
		errs = append(errs, err)
	}
	if err := c.net.Teardown(); err != nil {
		errs = append(errs, err)
	}
	// On failure the directory stays, so that `skiff down` can be re-run.
	if !keepData && len(errs) == 0 {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
		}
	}
	return errors.Join(errs...)
}

// Leftovers lists what of the cluster is still on the host: processes,
// mounts, BPF pins, cgroups and network objects. Empty after Down.
func (c *Cluster) Leftovers() []string {
	var left []string
	mounts, _ := cgroups.Mounts()
	for _, n := range c.nodes {
		for _, comp := range c.components(n) {
			if s, err := c.spec(mounts, n, comp); err == nil {
				if pid, ok := daemon.Running(s); ok {
					left = append(left, fmt.Sprintf("process %s (pid %d)", s.Name, pid))
				}
			}
		}
	}
	if c.ha() {
		s := c.balancerSpec(mounts)
		if pid, ok := daemon.Running(s); ok {
			left = append(left, fmt.Sprintf("process %s (pid %d)", s.Name, pid))
		}
	}
	if ms, _ := mountinfo.Under(c.dir); len(ms) > 0 {
		for _, m := range ms {
			left = append(left, "mount "+m)
		}
	}
	for _, d := range cgroups.Leftovers(mounts, c.cgroupRoot()) {
		left = append(left, "cgroup "+d)
	}
	return append(left, c.net.Leftovers()...)
}

// unmountUnder detaches every mount at or below dir (volumes, container
// root filesystems, pinned pod network namespaces), deepest first, until
// none is left (a mount may be stacked).
func unmountUnder(dir string) error {
	for range 5 {
		ms, err := mountinfo.Under(dir)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		for _, m := range ms {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", m, err)
			}
		}
	}
	ms, _ := mountinfo.Under(dir)
	if len(ms) > 0 {
		return fmt.Errorf("mounts left under %s: %v", dir, ms)
	}
	return nil
}
