package kubernetesservice

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Name is the name of the Service, its Endpoints, EndpointSlice and the
// default ServiceCIDR.
const Name = "kubernetes"

const (
	// DefaultLeaseTTL is how long an API server stays in the endpoints
	// without renewing its Lease: upstream's masterEndpointReconcileTTL.
	DefaultLeaseTTL = 15 * time.Second
	// LeaseLabel marks the endpoint Leases in kube-system.
	LeaseLabel  = "skiff.dev/kubernetes-service-endpoint"
	leasePrefix = "kube-apiserver-endpoint-"
)

// Config says what the objects hold.
type Config struct {
	// CIDRs are the service IP ranges, primary first.
	CIDRs []*net.IPNet
	// ClusterIP is the Service's IP: the first of the primary range.
	ClusterIP net.IP
	// Address and Port are where this API server serves.
	Address net.IP
	Port    int32
	// LeaseTTL is how long this server's endpoint Lease is valid (0:
	// DefaultLeaseTTL). Renew it more often than that.
	LeaseTTL time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// NoEndpoints leaves the Endpoints and EndpointSlice to someone else
	// (--endpoint-reconciler-type=none); the Service is still kept.
	NoEndpoints bool
}

// LeaseName is the name of the endpoint Lease of the API server at ip: its
// address, with an IPv6 one written out in full and ':' turned into '-'.
func LeaseName(ip net.IP) string {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return leasePrefix + "invalid"
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return leasePrefix + addr.String()
	}
	return leasePrefix + strings.ReplaceAll(addr.StringExpanded(), ":", "-")
}

// Reconciler keeps the objects for one API server.
type Reconciler struct {
	client kubernetes.Interface
	c      Config

	mu      sync.Mutex
	stopped bool
	// seen is when each Lease (by name) was last seen to change, and at
	// which resourceVersion.
	seen map[string]observation
}

type observation struct {
	resourceVersion string
	at              time.Time
}

// New returns a Reconciler for the server c describes.
func New(client kubernetes.Interface, c Config) *Reconciler {
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Reconciler{client: client, c: c, seen: map[string]observation{}}
}

// Run is New(client, c).Run(ctx, interval).
func Run(ctx context.Context, client kubernetes.Interface, c Config, interval time.Duration) error {
	return New(client, c).Run(ctx, interval)
}

// Ensure is New(client, c).Sync(ctx): one pass, with no memory of earlier
// observations of other servers' Leases.
func Ensure(ctx context.Context, client kubernetes.Interface, c Config) error {
	return New(client, c).Sync(ctx)
}

// Run syncs, retrying for up to ten seconds so that the objects usually
// exist when the server reports ready, then again every interval until ctx
// ends or RemoveSelf is called, so that a deleted or edited one comes back
// and dead servers leave the endpoints. It fails only if ctx ends first.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := r.Sync(ctx); err != nil {
			klog.FromContext(ctx).V(1).Info("Ensuring the kubernetes Service failed, retrying", "err", err)
			return false, nil
		}
		return true, nil
	})
	if ctx.Err() != nil {
		return fmt.Errorf("ensure the kubernetes Service: %w", ctx.Err())
	}
	if err != nil {
		klog.FromContext(ctx).Error(err, "The kubernetes Service is not in place yet; retrying in the background")
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := r.Sync(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Ensuring the kubernetes Service failed")
		}
	}, interval)
	return nil
}

// endpointsEnabled: a loopback address (a server only its own host
// reaches, as under envtest) cannot be an endpoint — validation refuses
// it — so such a server neither holds a Lease nor writes endpoints.
func (r *Reconciler) endpointsEnabled() bool { return !r.c.NoEndpoints && !r.c.Address.IsLoopback() }

// Sync creates or repairs the objects once: the ServiceCIDR, the Service,
// this server's Lease, and the endpoints of every live server.
func (r *Reconciler) Sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	if err := r.ensureServiceCIDR(ctx); err != nil {
		return err
	}
	if err := r.ensureService(ctx); err != nil {
		return err
	}
	if !r.endpointsEnabled() {
		return nil
	}
	if err := r.renewLease(ctx); err != nil {
		return err
	}
	live, err := r.liveAddresses(ctx, "")
	if err != nil {
		return err
	}
	return r.publish(ctx, live)
}

// RemoveSelf stops the reconciler, deletes this server's Lease and
// republishes the endpoints without it, as kube-apiserver does in its
// pre-shutdown hook. The last server leaves the endpoints as they are
// (upstream refuses to erase all of them).
func (r *Reconciler) RemoveSelf(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if !r.endpointsEnabled() {
		return nil
	}
	self := LeaseName(r.c.Address)
	err := r.client.CoordinationV1().Leases(metav1.NamespaceSystem).Delete(ctx, self, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete endpoint lease %s: %w", self, err)
	}
	live, err := r.liveAddresses(ctx, self)
	if err != nil {
		return err
	}
	return r.publish(ctx, live)
}

func (r *Reconciler) renewLease(ctx context.Context) error {
	api := r.client.CoordinationV1().Leases(metav1.NamespaceSystem)
	name := LeaseName(r.c.Address)
	now := metav1.NewMicroTime(r.c.Now())
	spec := coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(r.c.Address.String()),
		LeaseDurationSeconds: ptr.To(int32((r.c.LeaseTTL + time.Second - 1) / time.Second)),
		RenewTime:            &now,
	}
	got, err := api.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LeaseLabel: "true"}},
			Spec:       spec,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create endpoint lease %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("endpoint lease %s: %w", name, err)
	}
	got.Spec.HolderIdentity, got.Spec.LeaseDurationSeconds, got.Spec.RenewTime = spec.HolderIdentity, spec.LeaseDurationSeconds, spec.RenewTime
	if got.Labels == nil {
		got.Labels = map[string]string{}
	}
	got.Labels[LeaseLabel] = "true"
	if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew endpoint lease %s: %w", name, err)
	}
	return nil
}

// liveAddresses lists the endpoint Leases and returns the addresses of the
// live ones of this server's family, sorted, leaving out the Lease named
// skip; it deletes the expired ones.
func (r *Reconciler) liveAddresses(ctx context.Context, skip string) ([]string, error) {
	api := r.client.CoordinationV1().Leases(metav1.NamespaceSystem)
	list, err := api.List(ctx, metav1.ListOptions{LabelSelector: LeaseLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list endpoint leases: %w", err)
	}
	now := r.c.Now()
	self := LeaseName(r.c.Address)
	current := map[string]bool{}
	var live []string
	for i := range list.Items {
		l := &list.Items[i]
		current[l.Name] = true
		if l.Name == skip {
			continue
		}
		if l.Name != self && !r.alive(l, now) {
			klog.FromContext(ctx).V(2).Info("Removing an expired API server endpoint lease", "lease", l.Name)
			err := api.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &l.ResourceVersion}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return nil, fmt.Errorf("delete expired endpoint lease %s: %w", l.Name, err)
			}
			continue
		}
		if l.Spec.HolderIdentity == nil {
			continue
		}
		ip := net.ParseIP(*l.Spec.HolderIdentity)
		if ip == nil || ip.IsLoopback() || (ip.To4() == nil) != (r.c.Address.To4() == nil) {
			continue
		}
		live = append(live, ip.String())
	}
	for name := range r.seen {
		if !current[name] {
			delete(r.seen, name)
		}
	}
	sort.Strings(live)
	return live, nil
}

// alive reports whether l was renewed within its duration, as this server
// observes it: the time of its last observed change, or on first sight its
// renewTime (never later than now).
func (r *Reconciler) alive(l *coordinationv1.Lease, now time.Time) bool {
	obs, ok := r.seen[l.Name]
	switch {
	case !ok:
		at := l.CreationTimestamp.Time
		if l.Spec.RenewTime != nil {
			at = l.Spec.RenewTime.Time
		}
		if at.After(now) {
			at = now
		}
		obs = observation{resourceVersion: l.ResourceVersion, at: at}
	case obs.resourceVersion != l.ResourceVersion:
		obs = observation{resourceVersion: l.ResourceVersion, at: now}
	}
	r.seen[l.Name] = obs
	ttl := r.c.LeaseTTL
	if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds > 0 {
		ttl = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return now.Sub(obs.at) < ttl
}

func (r *Reconciler) publish(ctx context.Context, addresses []string) error {
	if len(addresses) == 0 {
		klog.FromContext(ctx).V(2).Info("No live API server endpoint; leaving the kubernetes endpoints as they are")
		return nil
	}
	if err := r.ensureEndpoints(ctx, addresses); err != nil {
		return err
	}
	return r.ensureEndpointSlice(ctx, addresses)
}

func (r *Reconciler) ensureServiceCIDR(ctx context.Context) error {
	cidrs := make([]string, len(r.c.CIDRs))
	for i, n := range r.c.CIDRs {
		cidrs[i] = n.String()
	}
	api := r.client.NetworkingV1().ServiceCIDRs()
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		got, err = api.Create(ctx, &networkingv1.ServiceCIDR{
			ObjectMeta: metav1.ObjectMeta{Name: Name},
			Spec:       networkingv1.ServiceCIDRSpec{CIDRs: cidrs},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("servicecidr %s: %w", Name, err)
	}
	if got.DeletionTimestamp != nil {
		// Being deleted (the ServiceCIDR controller holds it while IPs
		// use it); it is created again once gone.
		return nil
	}
	for _, cond := range got.Status.Conditions {
		if cond.Type == networkingv1.ServiceCIDRConditionReady && cond.Status == metav1.ConditionTrue {
			return nil
		}
	}
	got.Status.Conditions = []metav1.Condition{{
		Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue,
		Reason: "", Message: "Kubernetes default Service CIDR is ready", LastTransitionTime: metav1.NewTime(r.c.Now()),
	}}
	if _, err := api.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("servicecidr %s status: %w", Name, err)
	}
	return nil
}

func (r *Reconciler) servicePort() corev1.ServicePort {
	return corev1.ServicePort{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(r.c.Port)}
}

func (r *Reconciler) ensureService(ctx context.Context) error {
	api := r.client.CoreV1().Services(metav1.NamespaceDefault)
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
			Spec: corev1.ServiceSpec{
				Type:            corev1.ServiceTypeClusterIP,
				ClusterIP:       r.c.ClusterIP.String(),
				Ports:           []corev1.ServicePort{r.servicePort()},
				SessionAffinity: corev1.ServiceAffinityNone,
			},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("service %s: %w", Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", Name, err)
	}
	if want := []corev1.ServicePort{r.servicePort()}; !reflect.DeepEqual(got.Spec.Ports, want) {
		got.Spec.Ports = want
		if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("service %s ports: %w", Name, err)
		}
	}
	return nil
}

func (r *Reconciler) ensureEndpoints(ctx context.Context, addresses []string) error {
	subset := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: "https", Port: r.c.Port, Protocol: corev1.ProtocolTCP}}}
	for _, a := range addresses {
		subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: a})
	}
	want := []corev1.EndpointSubset{subset}
	api := r.client.CoreV1().Endpoints(metav1.NamespaceDefault)
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &corev1.Endpoints{
			// The API server writes the EndpointSlice itself; the mirroring
			// controller leaves this one alone.
			ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: map[string]string{discoveryv1.LabelSkipMirror: "true"}},
			Subsets:    want,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("endpoints %s: %w", Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("endpoints %s: %w", Name, err)
	}
	if !reflect.DeepEqual(got.Subsets, want) {
		got.Subsets = want
		if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("endpoints %s: %w", Name, err)
		}
	}
	return nil
}

func (r *Reconciler) ensureEndpointSlice(ctx context.Context, addresses []string) error {
	family := discoveryv1.AddressTypeIPv4
	if r.c.Address.To4() == nil {
		family = discoveryv1.AddressTypeIPv6
	}
	var endpoints []discoveryv1.Endpoint
	for _, a := range addresses {
		endpoints = append(endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	ports := []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(r.c.Port), Protocol: ptr.To(corev1.ProtocolTCP)}}
	api := r.client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault)
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: Name, Labels: map[string]string{discoveryv1.LabelServiceName: Name}},
			AddressType: family,
			Endpoints:   endpoints,
			Ports:       ports,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("endpointslice %s: %w", Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("endpointslice %s: %w", Name, err)
	}
	if got.AddressType != family || !reflect.DeepEqual(got.Endpoints, endpoints) || !reflect.DeepEqual(got.Ports, ports) {
		if got.AddressType != family {
			// addressType is immutable: replace the slice.
			if err := api.Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("endpointslice %s: %w", Name, err)
			}
			return r.ensureEndpointSlice(ctx, addresses)
		}
		got.Endpoints, got.Ports = endpoints, ports
		if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("endpointslice %s: %w", Name, err)
		}
	}
	return nil
}
