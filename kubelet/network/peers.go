package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"
)

// DefaultPeerResync is how often PeerRoutes re-applies the routes even when
// no Node changed (repairing routes someone else removed).
const DefaultPeerResync = time.Minute

// RouteSyncer applies the routes to peers; *Router is the real one.
type RouteSyncer interface {
	Sync(ownPodCIDRs []*net.IPNet, peers []Peer) error
}

// PeerRoutesConfig configures RunPeerRoutes.
type PeerRoutesConfig struct {
	// NodeName is this node: its own pod CIDRs come from its Node, every
	// other Node is a peer.
	NodeName string
	// Nodes is an informer of all Node objects; RunPeerRoutes adds its
	// handler and waits for it to sync (the caller starts it).
	Nodes cache.SharedIndexInformer
	// Syncer applies the routes.
	Syncer RouteSyncer
	// Resync is DefaultPeerResync if zero.
	Resync time.Duration
}

// RunPeerRoutes keeps the routes to every other node's pod CIDRs (spec.
// podCIDRs via its InternalIP) until ctx ends: it applies them when a Node
// is added, changes its pod CIDRs or addresses, or is deleted (its route
// goes), periodically, and again with back-off after a failed sync. Routes
// stay when it returns, as pods keep running across kubelet restarts.
func RunPeerRoutes(ctx context.Context, cfg PeerRoutesConfig) error {
	if cfg.NodeName == "" || cfg.Nodes == nil || cfg.Syncer == nil {
		return errors.New("peer routes: NodeName, Nodes and Syncer are required")
	}
	if cfg.Resync == 0 {
		cfg.Resync = DefaultPeerResync
	}
	log := klog.FromContext(ctx).WithName("peer-routes")
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	reg, err := cfg.Nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, obj any) { poke(obj) },
		DeleteFunc: poke,
	})
	if err != nil {
		return fmt.Errorf("peer routes: watch nodes: %w", err)
	}
	defer func() { _ = cfg.Nodes.RemoveEventHandler(reg) }()
	if !cache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return fmt.Errorf("peer routes: node informer did not sync: %w", ctx.Err())
	}

	resync := time.NewTicker(cfg.Resync)
	defer resync.Stop()
	const minBackoff, maxBackoff = time.Second, 30 * time.Second
	backoff := minBackoff
	var retry <-chan time.Time
	var applied *desiredRoutes
	for {
		force := false
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-resync.C:
			force = true
		case <-retry:
			force = true
		}
		want := desiredFromNodes(cfg.NodeName, cfg.Nodes.GetStore().List())
		if !force && applied != nil && reflect.DeepEqual(*applied, want) {
			continue
		}
		if err := cfg.Syncer.Sync(want.own, want.peers); err != nil {
			log.Error(err, "Syncing routes to other nodes' pods failed, retrying", "after", backoff)
			retry = time.After(backoff)
			backoff = min(2*backoff, maxBackoff)
			applied = nil
			continue
		}
		if applied == nil || !reflect.DeepEqual(*applied, want) {
			log.V(1).Info("Routes to other nodes' pods synced", "peers", len(want.peers))
		}
		applied, retry, backoff = &want, nil, minBackoff
	}
}

// desiredRoutes is this node's pod CIDRs and its peers.
type desiredRoutes struct {
	own   []*net.IPNet
	peers []Peer
}

// desiredFromNodes reads the pod CIDRs and InternalIPs of the Node objects:
// self's CIDRs are own, every other node with a pod CIDR and an address is
// a peer (sorted by name).
func desiredFromNodes(self string, objs []any) desiredRoutes {
	var d desiredRoutes
	for _, obj := range objs {
		n, ok := obj.(*corev1.Node)
		if !ok {
			continue
		}
		cidrs := podCIDRs(n)
		if n.Name == self {
			d.own = cidrs
			continue
		}
		ips := internalIPs(n)
		if len(cidrs) == 0 || len(ips) == 0 {
			continue
		}
		d.peers = append(d.peers, Peer{Name: n.Name, PodCIDRs: cidrs, NodeIPs: ips})
	}
	sort.Slice(d.peers, func(i, j int) bool { return d.peers[i].Name < d.peers[j].Name })
	return d
}

func podCIDRs(n *corev1.Node) []*net.IPNet {
	list := n.Spec.PodCIDRs
	if len(list) == 0 && n.Spec.PodCIDR != "" {
		list = []string{n.Spec.PodCIDR}
	}
	var out []*net.IPNet
	for _, s := range list {
		if _, c, err := netutils.ParseCIDRSloppy(s); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// internalIPs are the node's InternalIP addresses, the first of each family.
func internalIPs(n *corev1.Node) []net.IP {
	var out []net.IP
	seen := map[bool]bool{}
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip := netutils.ParseIPSloppy(a.Address)
		if ip == nil || seen[ip.To4() != nil] {
			continue
		}
		seen[ip.To4() != nil] = true
		out = append(out, ip)
	}
	return out
}
