package dns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Informer index names.
const (
	indexByService = "service" // EndpointSlices by "<namespace>/<service>"
	indexByIP      = "ip"      // Services by cluster IP; EndpointSlices by endpoint address
)

// tolerateUnreadyAnnotation is the legacy spelling of
// spec.publishNotReadyAddresses that the DNS specification still names.
const tolerateUnreadyAnnotation = "service.alpha.kubernetes.io/tolerate-unready-endpoints"

// store holds the informers the records are computed from.
type store struct {
	factory    informers.SharedInformerFactory
	services   cache.SharedIndexInformer
	slices     cache.SharedIndexInformer
	namespaces cache.SharedIndexInformer
	// modified is the Unix time of the last change seen, the SOA serial.
	modified atomic.Int64
}

func newStore(client kubernetes.Interface, resync time.Duration) (*store, error) {
	s := &store{factory: informers.NewSharedInformerFactoryWithOptions(client, resync,
		informers.WithTransform(stripManagedFields))}
	s.modified.Store(time.Now().Unix())
	s.services = s.factory.Core().V1().Services().Informer()
	s.slices = s.factory.Discovery().V1().EndpointSlices().Informer()
	s.namespaces = s.factory.Core().V1().Namespaces().Informer()
	if err := s.services.AddIndexers(cache.Indexers{indexByIP: serviceIPs}); err != nil {
		return nil, fmt.Errorf("index Services: %w", err)
	}
	if err := s.slices.AddIndexers(cache.Indexers{indexByService: sliceService, indexByIP: sliceIPs}); err != nil {
		return nil, fmt.Errorf("index EndpointSlices: %w", err)
	}
	touch := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.modified.Store(time.Now().Unix()) },
		UpdateFunc: func(any, any) { s.modified.Store(time.Now().Unix()) },
		DeleteFunc: func(any) { s.modified.Store(time.Now().Unix()) },
	}
	for _, inf := range []cache.SharedIndexInformer{s.services, s.slices, s.namespaces} {
		if _, err := inf.AddEventHandler(touch); err != nil {
			return nil, fmt.Errorf("watch for changes: %w", err)
		}
	}
	return s, nil
}

// run starts the informers and returns once they have synced (true) or ctx
// has ended (false). The informers keep running until ctx ends.
func (s *store) run(ctx context.Context) bool {
	s.factory.Start(ctx.Done())
	return cache.WaitForCacheSync(ctx.Done(), s.services.HasSynced, s.slices.HasSynced, s.namespaces.HasSynced)
}

func (s *store) shutdown() { s.factory.Shutdown() }

func (s *store) serial() uint32 { return uint32(s.modified.Load()) }

func stripManagedFields(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}

func serviceIPs(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ip := range clusterIPs(svc) {
		out = append(out, ip.String())
	}
	return out, nil
}

func sliceService(obj any) ([]string, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := es.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{es.Namespace + "/" + name}, nil
}

func sliceIPs(obj any) ([]string, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || es.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	var out []string
	for _, ep := range es.Endpoints {
		for _, a := range ep.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				out = append(out, ip.Unmap().String())
			}
		}
	}
	return out, nil
}

// clusterIPs are a Service's parsed cluster IPs; none for headless and
// ExternalName Services.
func clusterIPs(svc *corev1.Service) []netip.Addr {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && len(clusterIPs(svc)) == 0
}

func (s *store) service(namespace, name string) *corev1.Service {
	obj, ok, err := s.services.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil
	}
	return obj.(*corev1.Service)
}

func (s *store) namespaceExists(name string) bool {
	_, ok, err := s.namespaces.GetIndexer().GetByKey(name)
	return err == nil && ok
}

func (s *store) servicesByIP(ip netip.Addr) []*corev1.Service {
	objs, _ := s.services.GetIndexer().ByIndex(indexByIP, ip.String())
	out := make([]*corev1.Service, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Service))
	}
	return out
}

func (s *store) slicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice {
	objs, _ := s.slices.GetIndexer().ByIndex(indexByIP, ip.String())
	return toSlices(objs)
}

func (s *store) slicesOf(svc *corev1.Service) []*discoveryv1.EndpointSlice {
	objs, _ := s.slices.GetIndexer().ByIndex(indexByService, svc.Namespace+"/"+svc.Name)
	return toSlices(objs)
}

func toSlices(objs []any) []*discoveryv1.EndpointSlice {
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*discoveryv1.EndpointSlice))
	}
	return out
}

// endpoint is one address of a Service's endpoint, with the name DNS gives it.
type endpoint struct {
	hostname string
	addr     netip.Addr
	ports    []discoveryv1.EndpointPort
}

// endpoints are the addresses DNS publishes for svc: those of ready
// endpoints, or all when the Service publishes not-ready addresses; one
// entry per (hostname, address), whichever slices repeat it.
func (s *store) endpoints(svc *corev1.Service) []endpoint {
	all := svc.Spec.PublishNotReadyAddresses || svc.Annotations[tolerateUnreadyAnnotation] == "true"
	type key struct {
		host string
		addr netip.Addr
	}
	seen := map[key]bool{}
	var out []endpoint
	for _, es := range s.slicesOf(svc) {
		if es.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		for _, ep := range es.Endpoints {
			if !all && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				ip = ip.Unmap()
				host := endpointHostname(ep, ip)
				k := key{host, ip}
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, endpoint{hostname: host, addr: ip, ports: es.Ports})
			}
		}
	}
	return out
}

// endpointHostname is the endpoint's hostname field or, without one, its
// address with dashes for dots or colons, as CoreDNS names it.
func endpointHostname(ep discoveryv1.Endpoint, ip netip.Addr) string {
	if ep.Hostname != nil && *ep.Hostname != "" {
		return strings.ToLower(*ep.Hostname)
	}
	return dashed(ip)
}

func dashed(ip netip.Addr) string {
	s := ip.String()
	out := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == ':' {
			out[i] = '-'
		} else {
			out[i] = s[i]
		}
	}
	return string(out)
}
