package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// DefaultIPv4MaskSize and DefaultIPv6MaskSize are the node subnet sizes
	// when NodeCIDRMaskSize does not fit a family.
	DefaultIPv4MaskSize = 24
	DefaultIPv6MaskSize = 64
	// EventCIDRNotAvailable is the node event of an exhausted range.
	EventCIDRNotAvailable = "CIDRNotAvailable"
)

// Descriptor is the "nodeipam" controller.
var Descriptor = controllers.Descriptor{Name: "nodeipam", Setup: Setup}

// Setup registers the node IPAM controller; it registers nothing when
// Options.ClusterCIDRs is empty.
func Setup(ctx context.Context, c controllers.Context) error {
	log := klog.FromContext(ctx)
	if len(c.Options.ClusterCIDRs) == 0 {
		log.Info("No cluster CIDRs, node IPAM does not allocate pod CIDRs")
		return nil
	}
	sets, err := ParseClusterCIDRs(c.Options.ClusterCIDRs, c.Options.NodeCIDRMaskSize)
	if err != nil {
		return fmt.Errorf("nodeipam: %w", err)
	}
	r := &allocator{
		client:   c.Manager.GetClient(),
		recorder: c.Manager.GetEventRecorderFor("cidrAllocator"),
		sets:     sets,
		byNode:   map[string][]string{},
		waiting:  map[string]bool{},
		retry:    make(chan event.GenericEvent, 64),
	}
	err = ctrl.NewControllerManagedBy(c.Manager).
		Named("nodeipam").
		For(&corev1.Node{}).
		WatchesRawSource(source.Channel(r.retry, &handler.EnqueueRequestForObject{})).
		// The controller may be built more than once in a process (tests
		// restart it), hence no name uniqueness check.
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers(), SkipNameValidation: ptr.To(true)}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("nodeipam: %w", err)
	}
	return nil
}

// ParseClusterCIDRs makes the subnet sets of the cluster CIDRs: at most one
// per IP family, each cut into subnets of maskSize when it fits the family,
// else of the family's default size.
func ParseClusterCIDRs(cidrs []string, maskSize int) ([]*cidrSet, error) {
	if len(cidrs) > 2 {
		return nil, fmt.Errorf("at most two cluster CIDRs (one per IP family), got %d", len(cidrs))
	}
	var sets []*cidrSet
	families := map[int]bool{}
	for _, s := range cidrs {
		_, cidr, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("cluster CIDR %q: %w", s, err)
		}
		ones, bits := cidr.Mask.Size()
		if families[bits] {
			return nil, fmt.Errorf("cluster CIDRs %v: two of one IP family", cidrs)
		}
		families[bits] = true
		mask := DefaultIPv4MaskSize
		if bits == 128 {
			mask = DefaultIPv6MaskSize
		}
		if maskSize > 0 && maskSize >= ones && maskSize <= bits {
			mask = maskSize
		}
		set, err := newCIDRSet(cidr, mask)
		if err != nil {
			return nil, err
		}
		sets = append(sets, set)
	}
	return sets, nil
}

type allocator struct {
	client   client.Client
	recorder record.EventRecorder
	sets     []*cidrSet
	retry    chan event.GenericEvent

	// mu serializes allocation; byNode is what each node was given (also
	// before the cache shows it), waiting the nodes a full range left
	// without, retried when something is released.
	mu      sync.Mutex
	synced  bool
	byNode  map[string][]string
	waiting map[string]bool
}

func (r *allocator) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.synced {
		if err := r.rebuild(ctx); err != nil {
			return reconcile.Result{}, err
		}
		r.synced = true
	}
	node := &corev1.Node{}
	if err := r.client.Get(ctx, req.NamespacedName, node); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, fmt.Errorf("get node %s: %w", req.Name, err)
		}
		r.releaseNode(ctx, req.Name)
		return reconcile.Result{}, nil
	}
	if len(node.Spec.PodCIDRs) > 0 || node.Spec.PodCIDR != "" {
		r.occupyNode(ctx, node)
		delete(r.waiting, node.Name)
		return reconcile.Result{}, nil
	}
	cidrs, ok := r.byNode[node.Name]
	if !ok {
		var err error
		cidrs, err = r.allocate()
		if errors.Is(err, ErrFull) {
			log.Info("No pod CIDR left for node", "node", node.Name, "err", err)
			r.recorder.Eventf(node, corev1.EventTypeNormal, EventCIDRNotAvailable, "Node %s status is now: %s", node.Name, EventCIDRNotAvailable)
			r.waiting[node.Name] = true
			return reconcile.Result{}, nil
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		r.byNode[node.Name] = cidrs
	}
	delete(r.waiting, node.Name)
	patched := node.DeepCopy()
	patched.Spec.PodCIDR = cidrs[0]
	patched.Spec.PodCIDRs = cidrs
	if err := r.client.Patch(ctx, patched, client.MergeFrom(node)); err != nil {
		// Whatever the node holds now is what the next pass occupies.
		r.releaseNode(ctx, node.Name)
		return reconcile.Result{}, fmt.Errorf("set pod CIDRs %v of node %s: %w", cidrs, node.Name, err)
	}
	log.Info("Allocated pod CIDRs", "node", node.Name, "podCIDRs", cidrs)
	return reconcile.Result{}, nil
}

// rebuild occupies the subnets the existing nodes hold.
func (r *allocator) rebuild(ctx context.Context) error {
	var nodes corev1.NodeList
	if err := r.client.List(ctx, &nodes); err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		r.occupyNode(ctx, &nodes.Items[i])
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Rebuilt pod CIDR allocations from nodes", "nodes", len(nodes.Items), "allocated", len(r.byNode))
	return nil
}

// occupyNode marks the node's pod CIDRs used and remembers them.
func (r *allocator) occupyNode(ctx context.Context, node *corev1.Node) {
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 && node.Spec.PodCIDR != "" {
		cidrs = []string{node.Spec.PodCIDR}
	}
	if len(cidrs) == 0 {
		return
	}
	if prev, ok := r.byNode[node.Name]; ok && !equalStrings(prev, cidrs) {
		// Given something else than we handed out: ours are free again.
		r.release(ctx, node.Name, prev)
	}
	for _, s := range cidrs {
		_, cidr, err := net.ParseCIDR(s)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Node has an invalid pod CIDR", "node", node.Name, "podCIDR", s)
			continue
		}
		for _, set := range r.sets {
			if set.contains(cidr) {
				if err := set.occupy(cidr); err != nil {
					ctrl.LoggerFrom(ctx).V(2).Info("Pod CIDR of node is outside the allocator's subnets", "node", node.Name, "podCIDR", s, "err", err)
				}
			}
		}
	}
	r.byNode[node.Name] = append([]string(nil), cidrs...)
}

// allocate takes one subnet of every range, all or none.
func (r *allocator) allocate() ([]string, error) {
	var got []*net.IPNet
	for i, set := range r.sets {
		cidr, err := set.allocateNext()
		if err != nil {
			for j, c := range got {
				_ = r.sets[j].release(c)
			}
			return nil, fmt.Errorf("range %d: %w", i, err)
		}
		got = append(got, cidr)
	}
	out := make([]string, len(got))
	for i, c := range got {
		out[i] = c.String()
	}
	return out, nil
}

// releaseNode frees what the node held and retries nodes that waited.
func (r *allocator) releaseNode(ctx context.Context, name string) {
	cidrs, ok := r.byNode[name]
	delete(r.waiting, name)
	if !ok {
		return
	}
	r.release(ctx, name, cidrs)
}

func (r *allocator) release(ctx context.Context, name string, cidrs []string) {
	delete(r.byNode, name)
	for _, s := range cidrs {
		_, cidr, err := net.ParseCIDR(s)
		if err != nil {
			continue
		}
		for _, set := range r.sets {
			if set.contains(cidr) {
				_ = set.release(cidr)
			}
		}
	}
	ctrl.LoggerFrom(ctx).Info("Released pod CIDRs", "node", name, "podCIDRs", cidrs)
	for w := range r.waiting {
		n := &corev1.Node{}
		n.Name = w
		go func() {
			select {
			case r.retry <- event.GenericEvent{Object: n}:
			case <-ctx.Done():
			}
		}()
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
