package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/kubelet/crilog"
	"github.com/skiff-dev/skiff/kubelet/network"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultNamespace     = "skiff"
	DefaultSnapshotter   = "overlayfs"
	DefaultCgroupRoot    = "/kubepods"
	DefaultSandboxImage  = "skiff.local/pause:busybox"
	DefaultClusterDomain = "cluster.local"
	runcRuntime          = "io.containerd.runc.v2"
)

// Config configures a Runtime.
type Config struct {
	// DataDir holds the supervised containerd, runc state, pod directories
	// (hosts files, volumes) and, unless LogDir is set, container logs.
	// Required.
	DataDir string
	// ContainerdAddress is the socket of a running containerd to use; if
	// empty a Skiff-owned containerd is started under DataDir/containerd.
	ContainerdAddress string
	// ContainerdBinary for the supervised daemon ("containerd" from PATH).
	ContainerdBinary string
	// Namespace is the containerd namespace Skiff's objects live in.
	Namespace string
	// Snapshotter for container root filesystems.
	Snapshotter string
	// CgroupRoot is the parent of all pod cgroups (cgroupfs paths).
	CgroupRoot string
	// Network wires pod sandboxes; required for pods not on the host network.
	Network *network.Network
	// SandboxImage runs the container holding a pod's namespaces. The
	// default is built from the node's busybox when missing.
	SandboxImage string
	// LoggerBinary is started by the shim to write CRI-format logs; it must
	// call RunLoggerIfInvoked (crilog.RunIfInvoked). If empty:
	// skiff-cri-logger next to the running executable, else the running
	// executable itself (crilog.Binary).
	LoggerBinary string
	// LogDir holds <namespace>_<name>_<uid>/<container>/<restart>.log.
	LogDir string
	// DNS parameters for pods' resolv.conf.
	DNS DNSSettings
	// NodeName, HostIPs feed the downward API.
	NodeName string
	HostIPs  []string
	// Objects resolves ConfigMap and Secret references (may be nil).
	Objects ObjectSource
	// InsecureRegistries are registry hosts pulled over plain HTTP. A
	// loopback registry needs no entry: as with containerd's CRI plugin,
	// it is tried over HTTPS without verification, then plain HTTP.
	InsecureRegistries []string
	// NodeHostsFile is the node's /etc/hosts (for host-network pods).
	NodeHostsFile string
}

// Runtime runs pods on containerd.
type Runtime struct {
	cfg        Config
	client     *client.Client
	supervisor *Supervisor
	runcRoot   string
	fifoDir    string
	podsDir    string
	memTotal   int64

	// sandboxImageMu serializes building the default sandbox image: pods
	// starting together would otherwise import it at once, and all but
	// one import fail with AlreadyExists.
	sandboxImageMu sync.Mutex

	// ios holds the kubelet-held stdio of running StdioFIFO containers.
	iosMu  sync.Mutex
	ios    map[string]*containerIO
	closed bool

	// taskDeletes are the exited tasks being deleted in the background,
	// by container ID (see finalize); Close waits for them.
	taskDeletesMu sync.Mutex
	taskDeletes   map[string]chan struct{}
	taskDeletesWG sync.WaitGroup
}

// New validates and defaults cfg, starts the supervised containerd if no
// address is given, and connects to it.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("runtime: DataDir is required")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	cfg.DataDir = dir
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = DefaultSnapshotter
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = DefaultCgroupRoot
	}
	if cfg.SandboxImage == "" {
		cfg.SandboxImage = DefaultSandboxImage
	}
	if cfg.LogDir == "" {
		cfg.LogDir = filepath.Join(dir, "logs", "pods")
	}
	if cfg.DNS.ClusterDomain == "" {
		cfg.DNS.ClusterDomain = DefaultClusterDomain
	}
	if cfg.NodeHostsFile == "" {
		cfg.NodeHostsFile = "/etc/hosts"
	}
	logger, loggerSource, err := crilog.Binary(cfg.LoggerBinary)
	if err != nil {
		return nil, fmt.Errorf("runtime: container log writer: %w", err)
	}
	cfg.LoggerBinary = logger
	klog.FromContext(ctx).Info("Container log writer", "binary", logger, "source", loggerSource)
	r := &Runtime{
		cfg:      cfg,
		runcRoot: filepath.Join(dir, "runc"),
		fifoDir:  filepath.Join(dir, "fifo"),
		podsDir:  filepath.Join(dir, "pods"),
		memTotal: memoryCapacity(),
		ios:      map[string]*containerIO{},
	}
	for _, d := range []string{r.runcRoot, r.fifoDir, r.podsDir, cfg.LogDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("runtime: create %s: %w", d, err)
		}
	}
	addr := cfg.ContainerdAddress
	if addr == "" {
		s, err := StartContainerd(ctx, SupervisorConfig{Dir: filepath.Join(dir, "containerd"), Binary: cfg.ContainerdBinary})
		if err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
		r.supervisor = s
		addr = s.Address()
	}
	c, err := client.New(addr, client.WithDefaultNamespace(cfg.Namespace), client.WithTimeout(10*time.Second))
	if err != nil {
		if r.supervisor != nil {
			r.supervisor.Stop()
		}
		return nil, fmt.Errorf("runtime: connect to containerd at %s: %w", addr, err)
	}
	r.client = c
	klog.FromContext(ctx).V(1).Info("Connected to containerd", "address", addr, "namespace", cfg.Namespace, "supervised", r.supervisor != nil)
	return r, nil
}

// Close disconnects and stops the supervised containerd, if any. Pods keep
// running; a new Runtime on the same DataDir finds them again.
func (r *Runtime) Close() error {
	r.taskDeletesWG.Wait()
	r.iosMu.Lock()
	r.closed = true
	for id, ci := range r.ios {
		ci.close()
		delete(r.ios, id)
	}
	r.iosMu.Unlock()
	err := r.client.Close()
	if r.supervisor != nil {
		r.supervisor.Stop()
	}
	return err
}

// Client is the containerd client, for callers that need more than this
// package offers (e.g. exec streams).
func (r *Runtime) Client() *client.Client { return r.client }

// Version returns containerd's version, e.g. for nodeInfo's
// containerRuntimeVersion ("containerd://" + version).
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.client.Version(r.ns(ctx))
	if err != nil {
		return "", fmt.Errorf("containerd version: %w", err)
	}
	return v.Version, nil
}

func (r *Runtime) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func memoryCapacity() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil {
		return 0
	}
	return kb * 1024
}
