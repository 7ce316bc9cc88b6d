package endpoints

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
// slices Publishers keep.
const ManagedBy = "skiff-dns"

// DefaultPeriod is how often a Publisher re-reads the slices and Nodes.
const DefaultPeriod = time.Second

// Config configures a Publisher.
type Config struct {
	Client kubernetes.Interface
	// Namespace and Service name the Service the DNS servers are reached
	// through (kube-system/kube-dns).
	Namespace, Service string
	// NodeName is the node this server runs on; its slice is named
	// <Service>-<NodeName>.
	NodeName string
	// Address is the IP the server answers on.
	Address netip.Addr
	// Serving reports whether the server answers (its readiness).
	Serving func() bool
	// Period is how often the slices are reconciled (default DefaultPeriod).
	Period time.Duration
}

// Publisher keeps this server's slice and the readiness of its peers'.
type Publisher struct {
	cfg Config
}

// New checks cfg and returns a Publisher.
func New(cfg Config) (*Publisher, error) {
	var errs []error
	if cfg.Client == nil {
		errs = append(errs, errors.New("a client is required"))
	}
	if cfg.Namespace == "" || cfg.Service == "" {
		errs = append(errs, errors.New("the DNS Service's namespace and name are required"))
	}
	if cfg.NodeName == "" {
		errs = append(errs, errors.New("the node name is required"))
	}
	if !cfg.Address.IsValid() || cfg.Address.IsUnspecified() {
		errs = append(errs, fmt.Errorf("the server's own address is required, not %q (listen on a specific IP)", cfg.Address))
	}
	if cfg.Serving == nil {
		errs = append(errs, errors.New("a readiness function is required"))
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("DNS endpoint publisher: %w", err)
	}
	return &Publisher{cfg: cfg}, nil
}

// SliceName is the name of this server's slice.
func (p *Publisher) SliceName() string { return p.cfg.Service + "-" + p.cfg.NodeName }

// Run reconciles every Period until ctx ends, then deletes this server's
// slice.
func (p *Publisher) Run(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("endpointSlice", klog.KRef(p.cfg.Namespace, p.SliceName()))
	t := time.NewTicker(p.cfg.Period)
	defer t.Stop()
	for {
		if err := p.Sync(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "Keeping the DNS EndpointSlices failed; retrying")
		}
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := p.cfg.Client.DiscoveryV1().EndpointSlices(p.cfg.Namespace).Delete(dctx, p.SliceName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				log.Error(err, "Removing this server's EndpointSlice failed")
			} else {
				log.Info("Removed this server's EndpointSlice")
			}
			return
		case <-t.C:
		}
	}
}

// Sync makes one pass: this server's slice exists and says whether it is
// ready; every other server's slice is ready only while its Node is.
func (p *Publisher) Sync(ctx context.Context) error {
	slices := p.cfg.Client.DiscoveryV1().EndpointSlices(p.cfg.Namespace)
	svc, err := p.cfg.Client.CoreV1().Services(p.cfg.Namespace).Get(ctx, p.cfg.Service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // nothing to publish for yet
	}
	if err != nil {
		return fmt.Errorf("get Service %s/%s: %w", p.cfg.Namespace, p.cfg.Service, err)
	}
	nodes, err := p.nodeReadiness(ctx)
	if err != nil {
		return err
	}
	list, err := slices.List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + p.cfg.Service + "," + discoveryv1.LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return fmt.Errorf("list DNS EndpointSlices: %w", err)
	}
	var errs []error
	own := false
	for i := range list.Items {
		s := &list.Items[i]
		if s.Name == p.SliceName() {
			own = true
			want := p.desired(svc, nodes[p.cfg.NodeName])
			if !sameContent(s, want) {
				want.ResourceVersion = s.ResourceVersion
				if _, err := slices.Update(ctx, want, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
					errs = append(errs, fmt.Errorf("update EndpointSlice %s: %w", s.Name, err))
				}
			}
			continue
		}
		if changed := markPeer(s, nodes); changed {
			if _, err := slices.Update(ctx, s, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("update EndpointSlice %s: %w", s.Name, err))
			}
		}
	}
	if !own {
		if _, err := slices.Create(ctx, p.desired(svc, nodes[p.cfg.NodeName]), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("create EndpointSlice %s: %w", p.SliceName(), err))
		}
	}
	return errors.Join(errs...)
}

// nodeReadiness maps node names to whether their Ready condition is True.
func (p *Publisher) nodeReadiness(ctx context.Context) (map[string]bool, error) {
	nodes, err := p.cfg.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("list Nodes: %w", err)
	}
	ready := make(map[string]bool, len(nodes.Items))
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready[n.Name] = c.Status == corev1.ConditionTrue
			}
		}
	}
	return ready, nil
}

// desired is this server's slice: its address, ready while it serves on a
// Ready node, with the Service's ports.
func (p *Publisher) desired(svc *corev1.Service, nodeReady bool) *discoveryv1.EndpointSlice {
	ready := p.cfg.Serving() && nodeReady
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: p.SliceName(), Namespace: p.cfg.Namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: p.cfg.Service, discoveryv1.LabelManagedBy: ManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{p.cfg.Address.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(ready), Terminating: ptr.To(false)},
			NodeName:   ptr.To(p.cfg.NodeName),
		}},
	}
	if p.cfg.Address.Is6() {
		s.AddressType = discoveryv1.AddressTypeIPv6
	}
	for _, sp := range svc.Spec.Ports {
		port := sp.Port
		if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0 {
			port = sp.TargetPort.IntVal
		}
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(port), Protocol: ptr.To(sp.Protocol)})
	}
	return s
}

// markPeer makes another server's endpoints not ready when their Node is
// not Ready (or gone); it reports whether it changed anything. It never
// marks a peer ready: only the peer itself says it serves.
func markPeer(s *discoveryv1.EndpointSlice, nodeReady map[string]bool) bool {
	changed := false
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if e.NodeName == nil || nodeReady[*e.NodeName] || !ptr.Deref(e.Conditions.Ready, false) {
			continue
		}
		e.Conditions.Ready, e.Conditions.Serving = ptr.To(false), ptr.To(false)
		changed = true
	}
	return changed
}

// sameContent reports whether have already says what want does.
func sameContent(have, want *discoveryv1.EndpointSlice) bool {
	if have.AddressType != want.AddressType || len(have.Endpoints) != len(want.Endpoints) || len(have.Ports) != len(want.Ports) {
		return false
	}
	for k, v := range want.Labels {
		if have.Labels[k] != v {
			return false
		}
	}
	for i, w := range want.Endpoints {
		h := have.Endpoints[i]
		if fmt.Sprint(h.Addresses) != fmt.Sprint(w.Addresses) || ptr.Deref(h.NodeName, "") != ptr.Deref(w.NodeName, "") ||
			ptr.Deref(h.Conditions.Ready, false) != ptr.Deref(w.Conditions.Ready, false) ||
			ptr.Deref(h.Conditions.Serving, false) != ptr.Deref(w.Conditions.Serving, false) ||
			ptr.Deref(h.Conditions.Terminating, false) != ptr.Deref(w.Conditions.Terminating, false) {
			return false
		}
	}
	for i, w := range want.Ports {
		h := have.Ports[i]
		if ptr.Deref(h.Name, "") != ptr.Deref(w.Name, "") || ptr.Deref(h.Port, 0) != ptr.Deref(w.Port, 0) || ptr.Deref(h.Protocol, "") != ptr.Deref(w.Protocol, "") {
			return false
		}
	}
	return true
}
