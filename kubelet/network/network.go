package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/internal/netns"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultBridgeName  = "skiff0"
	DefaultNetworkName = "skiff"
	cniVersion         = "1.0.0"
	podIfName          = "eth0"
	loopbackIfName     = "lo"
)

// DefaultPluginDirs are searched for CNI plugin binaries when Config.PluginDirs
// is empty: Debian's containernetworking-plugins, then the upstream location.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// Config describes the node's pod network.
type Config struct {
	// PodCIDR is the range pod IPs are allocated from, e.g. "10.244.1.0/24".
	PodCIDR string
	// BridgeName is the Linux bridge pods attach to; DefaultBridgeName if empty.
	BridgeName string
	// NetworkName names the CNI network (and the host-local IPAM directory);
	// DefaultNetworkName if empty.
	NetworkName string
	// MTU for the pod interfaces; the plugin's default if zero.
	MTU int
	// PluginDirs are searched for CNI plugin binaries; DefaultPluginDirs if empty.
	PluginDirs []string
	// StateDir holds the pinned network namespaces, libcni's result cache and
	// the host-local IPAM store. Required.
	StateDir string
}

// Network sets up and tears down pod network namespaces.
type Network struct {
	cfg      Config
	cni      *libcni.CNIConfig
	bridge   *libcni.NetworkConfigList
	loopback *libcni.NetworkConfigList
	netnsDir string
	ipamDir  string
}

// PodRef identifies the pod a sandbox belongs to; it is passed to the plugins
// as the usual K8S_POD_* arguments.
type PodRef struct {
	Namespace string
	Name      string
	UID       string
}

// Attachment is the result of setting up a sandbox's network.
type Attachment struct {
	// NetNSPath is the pinned network namespace of the sandbox.
	NetNSPath string
	// IPs are the pod's addresses on the bridge, IPv4 first.
	IPs []net.IP
}

// New validates and defaults cfg and prepares the CNI configuration.
func New(cfg Config) (*Network, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("network: StateDir is required")
	}
	_, cidr, err := net.ParseCIDR(cfg.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("network: invalid PodCIDR %q: %w", cfg.PodCIDR, err)
	}
	if cfg.BridgeName == "" {
		cfg.BridgeName = DefaultBridgeName
	}
	if len(cfg.BridgeName) > 15 {
		return nil, fmt.Errorf("network: bridge name %q is longer than 15 characters", cfg.BridgeName)
	}
	if cfg.NetworkName == "" {
		cfg.NetworkName = DefaultNetworkName
	}
	if len(cfg.PluginDirs) == 0 {
		cfg.PluginDirs = DefaultPluginDirs
	}
	n := &Network{
		cfg:      cfg,
		netnsDir: filepath.Join(cfg.StateDir, "netns"),
		ipamDir:  filepath.Join(cfg.StateDir, "ipam"),
	}
	for _, d := range []string{n.netnsDir, n.ipamDir, filepath.Join(cfg.StateDir, "cache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("network: create %s: %w", d, err)
		}
	}
	n.cni = libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, filepath.Join(cfg.StateDir, "cache"), nil)

	bridge := map[string]any{
		"type":        "bridge",
		"bridge":      cfg.BridgeName,
		"isGateway":   true,
		"ipMasq":      false,
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": cidr.String()}}},
			"routes":  []map[string]string{{"dst": defaultRoute(cidr)}},
			"dataDir": n.ipamDir,
		},
	}
	if cfg.MTU > 0 {
		bridge["mtu"] = cfg.MTU
	}
	if n.bridge, err = confList(cfg.NetworkName, bridge); err != nil {
		return nil, err
	}
	if n.loopback, err = confList(cfg.NetworkName+"-loopback", map[string]any{"type": "loopback"}); err != nil {
		return nil, err
	}
	return n, nil
}

func defaultRoute(cidr *net.IPNet) string {
	if cidr.IP.To4() != nil {
		return "0.0.0.0/0"
	}
	return "::/0"
}

func confList(name string, plugin map[string]any) (*libcni.NetworkConfigList, error) {
	b, err := json.Marshal(map[string]any{
		"cniVersion": cniVersion,
		"name":       name,
		"plugins":    []any{plugin},
	})
	if err != nil {
		return nil, fmt.Errorf("network: encode CNI config %s: %w", name, err)
	}
	l, err := libcni.NetworkConfFromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("network: parse CNI config %s: %w", name, err)
	}
	return l, nil
}

// BridgeName is the bridge pods attach to.
func (n *Network) BridgeName() string { return n.cfg.BridgeName }

// NetNSPath is where the network namespace of sandbox id is pinned.
func (n *Network) NetNSPath(id string) string { return filepath.Join(n.netnsDir, id) }

func (n *Network) runtimeConf(id, netnsPath, ifName string, pod PodRef) *libcni.RuntimeConf {
	args := [][2]string{{"IgnoreUnknown", "1"}}
	if pod.Name != "" {
		args = append(args,
			[2]string{"K8S_POD_NAMESPACE", pod.Namespace},
			[2]string{"K8S_POD_NAME", pod.Name},
			[2]string{"K8S_POD_INFRA_CONTAINER_ID", id},
			[2]string{"K8S_POD_UID", pod.UID})
	}
	return &libcni.RuntimeConf{ContainerID: id, NetNS: netnsPath, IfName: ifName, Args: args}
}

// SetUp creates the network namespace of sandbox id and attaches it to the
// loopback and bridge networks. On failure everything done is undone.
func (n *Network) SetUp(ctx context.Context, id string, pod PodRef) (_ *Attachment, retErr error) {
	path := n.NetNSPath(id)
	if err := netns.Create(path); err != nil {
		return nil, fmt.Errorf("set up network of sandbox %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			if err := n.TearDown(context.WithoutCancel(ctx), id); err != nil {
				klog.FromContext(ctx).Error(err, "Undo failed network setup", "sandbox", id)
			}
		}
	}()
	if _, err := n.cni.AddNetworkList(ctx, n.loopback, n.runtimeConf(id, path, loopbackIfName, pod)); err != nil {
		return nil, fmt.Errorf("set up loopback of sandbox %s: %w", id, err)
	}
	res, err := n.cni.AddNetworkList(ctx, n.bridge, n.runtimeConf(id, path, podIfName, pod))
	if err != nil {
		return nil, fmt.Errorf("attach sandbox %s to bridge %s: %w", id, n.cfg.BridgeName, err)
	}
	ips, err := resultIPs(res)
	if err != nil {
		return nil, fmt.Errorf("attach sandbox %s: %w", id, err)
	}
	return &Attachment{NetNSPath: path, IPs: ips}, nil
}

// Status returns the attachment of sandbox id as recorded when it was set up
// (it survives a kubelet restart), or an error wrapping os.ErrNotExist.
func (n *Network) Status(ctx context.Context, id string) (*Attachment, error) {
	path := n.NetNSPath(id)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("network of sandbox %s: %w", id, err)
	}
	res, err := n.cni.GetNetworkListCachedResult(n.bridge, n.runtimeConf(id, path, podIfName, PodRef{}))
	if err != nil {
		return nil, fmt.Errorf("read cached CNI result of sandbox %s: %w", id, err)
	}
	if res == nil {
		return nil, fmt.Errorf("network of sandbox %s: no cached CNI result: %w", id, os.ErrNotExist)
	}
	ips, err := resultIPs(res)
	if err != nil {
		return nil, fmt.Errorf("network of sandbox %s: %w", id, err)
	}
	return &Attachment{NetNSPath: path, IPs: ips}, nil
}

func resultIPs(res cnitypes.Result) ([]net.IP, error) {
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("convert CNI result: %w", err)
	}
	var v4, v6 []net.IP
	for _, ip := range cur.IPs {
		if ip.Address.IP.To4() != nil {
			v4 = append(v4, ip.Address.IP.To4())
		} else {
			v6 = append(v6, ip.Address.IP)
		}
	}
	ips := append(v4, v6...)
	if len(ips) == 0 {
		return nil, errors.New("CNI result has no IP address")
	}
	return ips, nil
}

// TearDown detaches sandbox id from both networks (releasing its IP) and
// removes its network namespace. Tearing down twice, or a sandbox whose
// namespace is already gone, is not an error.
func (n *Network) TearDown(ctx context.Context, id string) error {
	path := n.NetNSPath(id)
	nsArg := path
	if _, err := os.Stat(path); err != nil {
		nsArg = ""
	}
	var errs []error
	if err := n.cni.DelNetworkList(ctx, n.bridge, n.runtimeConf(id, nsArg, podIfName, PodRef{})); err != nil {
		errs = append(errs, fmt.Errorf("detach sandbox %s from bridge: %w", id, err))
	}
	if err := n.cni.DelNetworkList(ctx, n.loopback, n.runtimeConf(id, nsArg, loopbackIfName, PodRef{})); err != nil {
		errs = append(errs, fmt.Errorf("tear down loopback of sandbox %s: %w", id, err))
	}
	if err := netns.Remove(path); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Sandboxes lists the IDs of sandboxes that hold network state on this node:
// a pinned namespace or an allocated IP.
func (n *Network) Sandboxes() ([]string, error) {
	ids := map[string]bool{}
	entries, err := os.ReadDir(n.netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list netns dir: %w", err)
	}
	for _, e := range entries {
		ids[e.Name()] = true
	}
	owners, err := n.ipamOwners()
	if err != nil {
		return nil, err
	}
	for _, id := range owners {
		ids[id] = true
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// ipamOwners reads the container IDs host-local recorded for the allocated
// addresses of this network.
func (n *Network) ipamOwners() ([]string, error) {
	dir := filepath.Join(n.ipamDir, n.cfg.NetworkName)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list IPAM dir: %w", err)
	}
	var owners []string
	for _, e := range entries {
		if e.IsDir() || net.ParseIP(e.Name()) == nil {
			continue // lock, last_reserved_ip.N
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if id = strings.TrimSpace(id); id != "" {
			owners = append(owners, id)
		}
	}
	return owners, nil
}

// Reconcile tears down the network state of every sandbox for which keep
// returns false and returns the IDs it removed.
func (n *Network) Reconcile(ctx context.Context, keep func(id string) bool) ([]string, error) {
	ids, err := n.Sandboxes()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, id := range ids {
		if keep(id) {
			continue
		}
		klog.FromContext(ctx).V(1).Info("Removing leftover sandbox network", "sandbox", id)
		if err := n.TearDown(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// DeleteBridge removes the node's pod bridge. Pods must be torn down first;
// the kubelet keeps the bridge across restarts, tests remove it.
func (n *Network) DeleteBridge() error {
	link, err := netlink.LinkByName(n.cfg.BridgeName)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("find bridge %s: %w", n.cfg.BridgeName, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", n.cfg.BridgeName, err)
	}
	return nil
}
