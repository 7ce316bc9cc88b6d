//go:build linux

package reconciler

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/maglev"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// Defaults.
const (
	DefaultPinDir       = "/sys/fs/bpf/skiff"
	DefaultCgroupPath   = "/sys/fs/cgroup/unified"
	DefaultResyncPeriod = 5 * time.Minute
	DefaultRetryMin     = 100 * time.Millisecond
	DefaultRetryMax     = 30 * time.Second
)

// Config configures a Reconciler.
type Config struct {
	// Tables is the desired state to program. Required.
	Tables *tables.Tables
	// PinDir is where maps (PinDir/maps) and links (PinDir/links) are
	// pinned; bpffs is mounted on it unless it already is on bpffs.
	PinDir string
	// CgroupPath is the cgroup2 directory the hooks attach to; sockets of
	// processes in it and its descendants are translated. The default is
	// the root, which covers the whole machine.
	CgroupPath string
	// Interfaces are the node's interfaces whose ingress gets the TC
	// program (tcx), which serves NodePort, externalIP and load-balancer
	// frontends to packets from other hosts and translates the replies of
	// their backends back: list the interfaces clients arrive on and those
	// backends answer on. Empty: none (local sockets only).
	Interfaces []string
	// ClusterCIDRs are the pod networks (kube-proxy's --cluster-cidr). When
	// set, Interfaces also get the egress masquerade program: a packet from
	// a cluster CIDR leaving through one of them to anywhere but a cluster
	// CIDR, a node address or a Service frontend gets the interface's node
	// address (and a port of bpf.MasqPortMin–MasqPortMax) as its source,
	// and the ingress program translates the replies back. IPv4 only.
	// Empty: no masquerade.
	ClusterCIDRs []netip.Prefix
	// NetNS is the path of the network namespace Interfaces are in; empty
	// means the caller's.
	NetNS string
	// MaglevTableSize is the number of slots per service, a prime. Each
	// service costs 8 bytes per slot in the kernel (array elements are 8
	// bytes apart) and about M·log M steps to build: the default 16381
	// suits up to a few thousand services, 1021 is plenty for services of
	// up to ~10 backends.
	MaglevTableSize uint32
	// MaglevSeed perturbs backend placement.
	MaglevSeed string
	// Sizes bounds the maps; zero fields keep the programs' defaults.
	Sizes bpf.Sizes
	// ResyncPeriod is how often Start re-reads the maps to repair drift.
	ResyncPeriod time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a failed
	// sync.
	RetryMin, RetryMax time.Duration
	// Observer, when set, hears about every sync (metrics, health).
	Observer Observer
	// Logger is used by New and Close; Start uses the context's logger.
	Logger logr.Logger
}

// Observer is told about syncs. Its methods must be quick; they are called
// with the reconciler locked.
type Observer interface {
	// Synced reports one sync that started at start (the desired state was
	// read after start) and took d; err is nil when the maps now hold it.
	// services and backends count what the maps hold afterwards.
	Synced(start time.Time, d time.Duration, full bool, st SyncStats, services, backends int, err error)
}

func (c *Config) defaults() error {
	if c.Tables == nil {
		return fmt.Errorf("config: no tables")
	}
	if c.PinDir == "" {
		c.PinDir = DefaultPinDir
	}
	if c.CgroupPath == "" {
		c.CgroupPath = DefaultCgroupPath
	}
	if c.MaglevTableSize == 0 {
		c.MaglevTableSize = maglev.DefaultTableSize
	}
	if c.ResyncPeriod == 0 {
		c.ResyncPeriod = DefaultResyncPeriod
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("config: retry max %s is below retry min %s", c.RetryMax, c.RetryMin)
	}
	if c.Logger.GetSink() == nil {
		c.Logger = klog.Background()
	}
	return nil
}
