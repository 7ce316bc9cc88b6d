package datasource

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// Labels that take a Service or EndpointSlice away from this proxy, as
// kube-proxy reads them: a Service naming another proxy implementation, and
// the endpoints of headless Services.
const (
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	LabelHeadless         = corev1.IsHeadlessService
)

// DefaultResyncPeriod is how often the informers replay their caches, as
// kube-proxy's --config-sync-period defaults.
const DefaultResyncPeriod = 15 * time.Minute

// Source keeps tables in step with the API server's Services and
// EndpointSlices (and the zone and addresses of its own Node). It only
// writes tables; a reconciler turns them into BPF maps.
type Source struct {
	client   kubernetes.Interface
	tables   *tables.Tables
	nodeName string
	resync   time.Duration
	synced   atomic.Bool
	syncedCh chan struct{}
	// allNodes watches every Node, not only this one, to keep the tables'
	// cluster node addresses (see WatchAllNodes).
	allNodes bool
}

// WatchAllNodes makes Run watch every Node and keep
// tables.SetClusterNodeAddresses up to date with their InternalIP and
// ExternalIP addresses, which the egress masquerade leaves alone. Call it
// before Run.
func (s *Source) WatchAllNodes() { s.allNodes = true }

// NewSource returns a Source writing into t for the node named nodeName.
// A resync of zero means DefaultResyncPeriod.
func NewSource(client kubernetes.Interface, t *tables.Tables, nodeName string, resync time.Duration) *Source {
	if resync == 0 {
		resync = DefaultResyncPeriod
	}
	return &Source{client: client, tables: t, nodeName: nodeName, resync: resync, syncedCh: make(chan struct{})}
}

// Run is NewSource(client, t, nodeName, 0).Run(ctx).
func Run(ctx context.Context, client kubernetes.Interface, t *tables.Tables, nodeName string) error {
	return NewSource(client, t, nodeName, 0).Run(ctx)
}

// Synced is closed once the tables hold everything the first lists
// returned, so a reconciler started after it never programs a partial view
// over what an earlier proxy left pinned.
func (s *Source) Synced() <-chan struct{} { return s.syncedCh }

// HasSynced reports whether Synced is closed.
func (s *Source) HasSynced() bool { return s.synced.Load() }

// Run starts the informers and applies their events until ctx ends; it
// returns nil then, or an error if the informers could not start.
func (s *Source) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("datasource")
	ctx = klog.NewContext(ctx, log)
	s.tables.SetNode(tables.Node{Name: s.nodeName})

	notOurs, err := labels.NewRequirement(LabelServiceProxyName, selection.DoesNotExist, nil)
	if err != nil {
		return fmt.Errorf("label selector: %w", err)
	}
	notHeadless, err := labels.NewRequirement(LabelHeadless, selection.DoesNotExist, nil)
	if err != nil {
		return fmt.Errorf("label selector: %w", err)
	}
	hasService, err := labels.NewRequirement(discoveryv1.LabelServiceName, selection.Exists, nil)
	if err != nil {
		return fmt.Errorf("label selector: %w", err)
	}
	svcSelector := labels.NewSelector().Add(*notOurs, *notHeadless).String()
	sliceSelector := labels.NewSelector().Add(*notOurs, *notHeadless, *hasService).String()

	svcFactory := informers.NewSharedInformerFactoryWithOptions(s.client, s.resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = svcSelector }))
	sliceFactory := informers.NewSharedInformerFactoryWithOptions(s.client, s.resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sliceSelector }))
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(s.client, s.resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			if !s.allNodes {
				o.FieldSelector = fields.OneTermEqualSelector(metav1.ObjectNameField, s.nodeName).String()
			}
		}))

	var regs []cache.ResourceEventHandlerRegistration
	add := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			return err
		}
		regs = append(regs, reg)
		return nil
	}
	if err := add(svcFactory.Core().V1().Services().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.serviceChanged(ctx, nil, obj) },
		UpdateFunc: func(old, obj any) { s.serviceChanged(ctx, old, obj) },
		DeleteFunc: func(obj any) { s.serviceDeleted(ctx, obj) },
	}); err != nil {
		return fmt.Errorf("service informer: %w", err)
	}
	if err := add(sliceFactory.Discovery().V1().EndpointSlices().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.sliceChanged(ctx, nil, obj) },
		UpdateFunc: func(old, obj any) { s.sliceChanged(ctx, old, obj) },
		DeleteFunc: func(obj any) { s.sliceDeleted(ctx, obj) },
	}); err != nil {
		return fmt.Errorf("endpointslice informer: %w", err)
	}
	if s.nodeName != "" || s.allNodes {
		nodes := nodeFactory.Core().V1().Nodes().Informer()
		if err := add(nodes, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				s.nodeChanged(ctx, obj)
				s.clusterNodesChanged(nodes.GetStore())
			},
			UpdateFunc: func(_, obj any) {
				s.nodeChanged(ctx, obj)
				s.clusterNodesChanged(nodes.GetStore())
			},
			DeleteFunc: func(obj any) {
				if node, ok := untombstone(obj).(*corev1.Node); ok && node.Name == s.nodeName {
					s.tables.SetNode(tables.Node{Name: s.nodeName})
				}
				s.clusterNodesChanged(nodes.GetStore())
			},
		}); err != nil {
			return fmt.Errorf("node informer: %w", err)
		}
	}

	factories := []informers.SharedInformerFactory{svcFactory, sliceFactory, nodeFactory}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	defer func() {
		for _, f := range factories {
			f.Shutdown()
		}
	}()
	synced := make([]cache.InformerSynced, 0, len(regs))
	for _, r := range regs {
		synced = append(synced, r.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("informer caches did not sync")
	}
	s.synced.Store(true)
	close(s.syncedCh)
	log.Info("Services and EndpointSlices synced", "node", s.nodeName)
	<-ctx.Done()
	return nil
}

func (s *Source) serviceChanged(ctx context.Context, oldObj, obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	log := klog.FromContext(ctx)
	if old, ok := oldObj.(*corev1.Service); ok && old.ResourceVersion == svc.ResourceVersion {
		return // a resync replay; the tables already hold it
	}
	out, err := ServiceFromKube(svc)
	if err == nil {
		err = s.tables.UpsertService(out)
	}
	if err != nil {
		// Program nothing rather than an older spec of the same Service.
		log.Error(err, "Skipping Service the proxy cannot program", "service", klog.KObj(svc))
		s.tables.DeleteService(tables.ServiceName{Namespace: svc.Namespace, Name: svc.Name})
		return
	}
	log.V(1).Info("Service updated", "service", klog.KObj(svc), "clusterIPs", out.ClusterIPs, "ports", len(out.Ports))
}

func (s *Source) serviceDeleted(ctx context.Context, obj any) {
	svc, ok := untombstone(obj).(*corev1.Service)
	if !ok {
		return
	}
	s.tables.DeleteService(tables.ServiceName{Namespace: svc.Namespace, Name: svc.Name})
	klog.FromContext(ctx).V(1).Info("Service deleted", "service", klog.KObj(svc))
}

func (s *Source) sliceChanged(ctx context.Context, oldObj, obj any) {
	slice, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	log := klog.FromContext(ctx)
	if old, ok := oldObj.(*discoveryv1.EndpointSlice); ok {
		if old.ResourceVersion == slice.ResourceVersion {
			return
		}
		// A slice relabelled to another Service leaves the old one.
		if prev := old.Labels[discoveryv1.LabelServiceName]; prev != "" && prev != slice.Labels[discoveryv1.LabelServiceName] {
			s.tables.DeleteBackends(tables.ServiceName{Namespace: old.Namespace, Name: prev}, old.Name)
		}
	}
	name, bs, err := BackendsFromKube(slice)
	if err == nil {
		err = s.tables.UpsertBackends(name, slice.Name, bs)
	}
	if err != nil {
		log.Error(err, "Skipping EndpointSlice the proxy cannot use", "endpointSlice", klog.KObj(slice))
		if name.Name != "" {
			s.tables.DeleteBackends(name, slice.Name)
		}
		return
	}
	log.V(1).Info("EndpointSlice updated", "endpointSlice", klog.KObj(slice), "service", name, "backends", len(bs))
}

func (s *Source) sliceDeleted(ctx context.Context, obj any) {
	slice, ok := untombstone(obj).(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	svc := slice.Labels[discoveryv1.LabelServiceName]
	if svc == "" {
		return
	}
	s.tables.DeleteBackends(tables.ServiceName{Namespace: slice.Namespace, Name: svc}, slice.Name)
	klog.FromContext(ctx).V(1).Info("EndpointSlice deleted", "endpointSlice", klog.KObj(slice))
}

func (s *Source) nodeChanged(ctx context.Context, obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok || node.Name != s.nodeName {
		return
	}
	s.tables.SetNode(NodeFromKube(node))
	klog.FromContext(ctx).V(1).Info("Node updated", "node", klog.KObj(node))
}

// clusterNodesChanged gives the tables every Node's addresses, when every
// Node is watched.
func (s *Source) clusterNodesChanged(store cache.Store) {
	if !s.allNodes {
		return
	}
	var addrs []netip.Addr
	for _, obj := range store.List() {
		if node, ok := obj.(*corev1.Node); ok {
			addrs = append(addrs, NodeFromKube(node).Addresses...)
		}
	}
	s.tables.SetClusterNodeAddresses(addrs)
}

// NodeFromKube reads the proxy's own Node: its name, its zone (the
// topology.kubernetes.io/zone label topology hints are matched against)
// and its InternalIP and ExternalIP addresses, which NodePorts listen on.
func NodeFromKube(node *corev1.Node) tables.Node {
	out := tables.Node{Name: node.Name, Zone: node.Labels[corev1.LabelTopologyZone]}
	seen := map[netip.Addr]bool{}
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil || seen[ip.Unmap()] {
			continue
		}
		seen[ip.Unmap()] = true
		out.Addresses = append(out.Addresses, ip.Unmap())
	}
	return out
}

func untombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}
