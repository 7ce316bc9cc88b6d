package proxy

import (
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
)

// Defaults for flags; an empty Config field means the same.
const (
	// DefaultHealthzBindAddress is kube-proxy's --healthz-bind-address
	// port on loopback only: the endpoint is plain HTTP, and Skiff serves
	// nothing unencrypted beyond the host (an empty
	// Config.HealthzBindAddress serves nothing at all).
	DefaultHealthzBindAddress = "127.0.0.1:10256"
	// DefaultPinDir is where maps and links are pinned.
	DefaultPinDir = "/sys/fs/bpf/skiff"
	// DefaultCgroupPath is this machine's cgroup2 root (hybrid hierarchy).
	DefaultCgroupPath = "/sys/fs/cgroup/unified"
)

// Config configures a Proxy.
type Config struct {
	// RESTConfig is the API server connection. When nil, Master and
	// Kubeconfig are used as kube-proxy uses them (both empty: in-cluster).
	RESTConfig *rest.Config
	// Kubeconfig is a kubeconfig file path.
	Kubeconfig string
	// Master overrides the kubeconfig's server address.
	Master string
	// NodeName is the Node this proxy runs on (its zone and addresses feed
	// topology and NodePorts); the default is the lower-cased hostname.
	NodeName string
	// PinDir is the bpffs directory maps and links are pinned under; empty
	// means DefaultPinDir.
	PinDir string
	// CgroupPath is the cgroup2 directory the socket hooks attach to; empty
	// means DefaultCgroupPath, the root of the whole machine.
	CgroupPath string
	// MaglevTableSize is the prime number of Maglev slots per service; zero
	// keeps the reconciler's default.
	MaglevTableSize uint32
	// MapSizes bound the BPF maps; zero fields keep the programs' defaults.
	MapSizes MapSizes
	// ConfigSyncPeriod is how often the informers replay their caches; zero
	// means datasource.DefaultResyncPeriod.
	ConfigSyncPeriod time.Duration
	// MapResyncPeriod is how often the maps are re-read to repair drift;
	// zero keeps the reconciler's default.
	MapResyncPeriod time.Duration
	// HealthzBindAddress is where /healthz and /livez are served (host:port,
	// port 0 picks one); empty serves nothing.
	HealthzBindAddress string
	// HealthTimeout is how long a change may wait to be programmed before
	// /healthz and /livez fail; zero means DefaultHealthTimeout.
	HealthTimeout time.Duration
	// MetricsBindAddress is where Prometheus /metrics is served (host:port,
	// port 0 picks one); empty serves nothing.
	MetricsBindAddress string
	// HealthCheckNodePortHost is the address healthCheckNodePorts of
	// externalTrafficPolicy: Local Services are bound on; empty means every
	// address, as kube-proxy binds them.
	HealthCheckNodePortHost string
	// DisableHealthCheckNodePorts serves no healthCheckNodePorts.
	DisableHealthCheckNodePorts bool
	// Interfaces are the node's interfaces whose ingress gets the TC
	// program serving NodePorts, externalIPs and load-balancer IPs to other
	// hosts (the ones clients arrive on and the ones backends answer on);
	// empty serves them to local sockets only.
	Interfaces []string
	// ClusterCIDRs are the cluster's pod networks (kube-proxy's
	// --cluster-cidr). When set, pod egress leaving through Interfaces to
	// anything outside them, other than a node address or a Service, is
	// masqueraded to the interface's node address (IPv4; see
	// reconciler.Config.ClusterCIDRs), and every Node is watched for its
	// addresses. Empty: no masquerade.
	ClusterCIDRs []netip.Prefix
	// NetNS is the network namespace path Interfaces are in; empty means
	// the proxy's own (tests use it).
	NetNS string
	// Logger is used by New; Start logs through the context's logger.
	Logger logr.Logger
}

// MapSizes are the capacities of the BPF maps (see bpf.Sizes); each is
// preallocated, so they set the proxy's locked kernel memory.
type MapSizes struct {
	// Services bounds frontends and Maglev tables.
	Services uint32
	// Backends bounds distinct backend addresses.
	Backends uint32
	// Affinity bounds remembered ClientIP affinity pairs.
	Affinity uint32
	// RevNat bounds remembered (socket, backend) pairs for reverse
	// translation.
	RevNat uint32
	// Conntrack bounds each of the TC path's flow tables.
	Conntrack uint32
}
