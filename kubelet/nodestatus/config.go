package nodestatus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Defaults, as the upstream kubelet's configuration defaults them.
const (
	DefaultKubeletPort           = 10250
	DefaultMaxPods               = 110
	DefaultStatusUpdateFrequency = 10 * time.Second
	DefaultStatusReportFrequency = 5 * time.Minute
	DefaultLeaseDurationSeconds  = 40
	// leaseRenewFraction is the share of the lease duration after which the
	// lease is renewed (upstream's nodeLeaseRenewIntervalFraction).
	leaseRenewFraction = 0.25
)

// Config configures a Reporter. Client, NodeName and RuntimeVersion are
// required; everything else has the upstream kubelet's default.
type Config struct {
	// Client talks to the API server as the node.
	Client kubernetes.Interface
	// NodeName is the Node object's name.
	NodeName string
	// Hostname is reported as the Hostname address and the
	// kubernetes.io/hostname label; empty means NodeName.
	Hostname string
	// Addresses are the node's IPs (--node-ip): the first is the primary
	// InternalIP, a second one of the other family makes the node dual-stack.
	// Each must be an address of a host interface. Empty means the IP that
	// NodeName resolves to, or else the IP of the default-route interface.
	Addresses []net.IP
	// KubeletPort is the port of the kubelet's HTTPS server, published in
	// status.daemonEndpoints.kubeletEndpoint.
	KubeletPort int32
	// Labels are added to the node at registration (--node-labels).
	Labels map[string]string
	// Taints are set on the node when it is first registered
	// (--register-with-taints).
	Taints []corev1.Taint

	// Capacity overrides measured capacity, resource by resource.
	Capacity corev1.ResourceList
	// Reserved is subtracted from capacity to give allocatable, like
	// --kube-reserved plus --system-reserved.
	Reserved corev1.ResourceList
	// MaxPods is the pods capacity.
	MaxPods int
	// CgroupPath, when set, is a cgroup (as --cgroup-root names it, or a
	// directory under a hierarchy's mount point) whose limits, and its
	// ancestors', bound the cpu and memory capacity measured from the host:
	// cgroup v1 memory.limit_in_bytes and CFS quota, cgroup v2 memory.max
	// and cpu.max. The kubelet passes its --cgroup-root, so a node that
	// runs in a limited cgroup reports the limit as its capacity.
	CgroupPath string
	// RootDir is the directory whose filesystem size is the
	// ephemeral-storage capacity (the kubelet's root dir); empty means "/".
	RootDir string

	// RuntimeVersion returns the container runtime's version (for
	// containerd, runtime.Runtime.Version). An error reports the runtime as
	// down and the node NotReady.
	RuntimeVersion func(ctx context.Context) (string, error)
	// NetworkReady, when set, returns an error while the pod network is not
	// ready, which makes the node NotReady.
	NetworkReady func(ctx context.Context) error
	// MemoryPressure, DiskPressure and PIDPressure, when set, report the
	// eviction signals behind the pressure conditions; unset means none.
	MemoryPressure func() bool
	DiskPressure   func() bool
	PIDPressure    func() bool

	// Recorder, when set, receives the node events upstream emits on
	// condition transitions (NodeReady, NodeHasSufficientMemory, ...).
	Recorder record.EventRecorder

	// StatusUpdateFrequency is how often status is computed
	// (nodeStatusUpdateFrequency).
	StatusUpdateFrequency time.Duration
	// StatusReportFrequency is how often status is patched when nothing
	// changed (nodeStatusReportFrequency).
	StatusReportFrequency time.Duration
	// LeaseDurationSeconds is the Lease's spec.leaseDurationSeconds.
	LeaseDurationSeconds int32
	// LeaseRenewInterval is how often the Lease is renewed; zero means a
	// quarter of the lease duration.
	LeaseRenewInterval time.Duration
	// Clock gives heartbeat, transition and renew times and drives the
	// status loop; nil means the real clock.
	Clock clock.WithTicker
}

func (c *Config) complete() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("a client is required"))
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("a node name is required"))
	}
	if c.RuntimeVersion == nil {
		errs = append(errs, errors.New("a runtime version func is required"))
	}
	if len(c.Addresses) > 2 {
		errs = append(errs, fmt.Errorf("at most two node IPs are allowed, got %d", len(c.Addresses)))
	}
	if len(c.Addresses) == 2 && (c.Addresses[0].To4() != nil) == (c.Addresses[1].To4() != nil) {
		errs = append(errs, fmt.Errorf("two node IPs must be of different families, got %s and %s", c.Addresses[0], c.Addresses[1]))
	}
	if len(errs) > 0 {
		return fmt.Errorf("node status config: %w", errors.Join(errs...))
	}
	if c.Hostname == "" {
		c.Hostname = c.NodeName
	}
	c.Hostname = strings.ToLower(strings.TrimSpace(c.Hostname))
	if c.KubeletPort == 0 {
		c.KubeletPort = DefaultKubeletPort
	}
	if c.MaxPods == 0 {
		c.MaxPods = DefaultMaxPods
	}
	if c.RootDir == "" {
		c.RootDir = "/"
	}
	if c.StatusUpdateFrequency == 0 {
		c.StatusUpdateFrequency = DefaultStatusUpdateFrequency
	}
	if c.StatusReportFrequency == 0 {
		c.StatusReportFrequency = DefaultStatusReportFrequency
	}
	if c.LeaseDurationSeconds == 0 {
		c.LeaseDurationSeconds = DefaultLeaseDurationSeconds
	}
	if c.LeaseRenewInterval == 0 {
		c.LeaseRenewInterval = time.Duration(float64(time.Duration(c.LeaseDurationSeconds)*time.Second) * leaseRenewFraction)
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return nil
}
