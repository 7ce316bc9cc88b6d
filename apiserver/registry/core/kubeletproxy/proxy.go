package kubeletproxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"
)

// proxyMethods are the methods pods/proxy, nodes/proxy and services/proxy
// pass on.
var proxyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// locator works out where a proxy request for the object id
// ("name", "name:port" or "scheme:name:port") goes.
type locator func(ctx context.Context, id string) (*url.URL, http.RoundTripper, error)

// ProxyREST serves one of pods/proxy, nodes/proxy and services/proxy: any
// request under .../{name}/proxy/{path} is passed on to {path} of the
// object's backend, and may upgrade (websockets through a service).
type ProxyREST struct {
	newOptions func() runtime.Object
	namespaced bool
	locate     locator
	kubelet    *kubelet
}

var _ rest.Connecter = &ProxyREST{}

// NewPodProxyREST returns the pods/proxy storage: requests go to the pod's
// IP, at the port the id names or else the first port its containers
// declare, through Config.ProxyTransport.
func NewPodProxyREST(pods rest.Getter, c Config) *ProxyREST {
	k := newKubelet(nil, c)
	return &ProxyREST{
		newOptions: func() runtime.Object { return &corev1.PodProxyOptions{} },
		namespaced: true,
		kubelet:    k,
		locate: func(ctx context.Context, id string) (*url.URL, http.RoundTripper, error) {
			return podLocation(ctx, pods, id, k.proxyTransport)
		},
	}
}

// NewNodeProxyREST returns the nodes/proxy storage: requests go to the
// node's kubelet (with the kubelet client certificate) or, when the id names
// another port, to that port of the node through Config.ProxyTransport.
func NewNodeProxyREST(nodes rest.Getter, c Config) *ProxyREST {
	k := newKubelet(nodes, c)
	return &ProxyREST{
		newOptions: func() runtime.Object { return &corev1.NodeProxyOptions{} },
		kubelet:    k,
		locate:     k.nodeLocation,
	}
}

// NewServiceProxyREST returns the services/proxy storage: requests go to one
// ready address, chosen at random, of the service's Endpoints that has the
// port the id names (by name or number, else the unnamed port) and belongs
// to a pod with that IP. services, endpoints and pods are the storages of
// the three resources.
func NewServiceProxyREST(services, endpoints, pods rest.Getter, c Config) *ProxyREST {
	k := newKubelet(nil, c)
	return &ProxyREST{
		newOptions: func() runtime.Object { return &corev1.ServiceProxyOptions{} },
		namespaced: true,
		kubelet:    k,
		locate: func(ctx context.Context, id string) (*url.URL, http.RoundTripper, error) {
			return serviceLocation(ctx, services, endpoints, pods, id, k.proxyTransport)
		},
	}
}

// New implements rest.Storage.
func (r *ProxyREST) New() runtime.Object { return r.newOptions() }

// Destroy implements rest.Storage.
func (r *ProxyREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *ProxyREST) NamespaceScoped() bool { return r.namespaced }

// ConnectMethods implements rest.Connecter.
func (r *ProxyREST) ConnectMethods() []string { return proxyMethods }

// NewConnectOptions implements rest.Connecter: the rest of the URL after
// .../proxy is the options' path.
func (r *ProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return r.newOptions(), true, "path"
}

// Connect implements rest.Connecter.
func (r *ProxyREST) Connect(ctx context.Context, id string, options runtime.Object, responder rest.Responder) (http.Handler, error) {
	var path string
	switch o := options.(type) {
	case *corev1.PodProxyOptions:
		path = o.Path
	case *corev1.NodeProxyOptions:
		path = o.Path
	case *corev1.ServiceProxyOptions:
		path = o.Path
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	location, transport, err := r.locate(ctx, id)
	if err != nil {
		return nil, err
	}
	location.Path = utilnet.JoinPreservingTrailingSlash(location.Path, path)
	return r.kubelet.upgradeHandler(location, transport, true, false, responder), nil
}

// podLocation is upstream's pod ResourceLocation.
func podLocation(ctx context.Context, pods rest.Getter, id string, transport http.RoundTripper) (*url.URL, http.RoundTripper, error) {
	scheme, name, port, ok := utilnet.SplitSchemeNamePort(id)
	if !ok {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", id))
	}
	pod, err := getPod(ctx, pods, name)
	if err != nil {
		return nil, nil, err
	}
	if port == "" {
		for _, c := range pod.Spec.Containers {
			if len(c.Ports) > 0 {
				port = strconv.Itoa(int(c.Ports[0].ContainerPort))
				break
			}
		}
	}
	var podIP string
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	if ip := netutils.ParseIPSloppy(podIP); ip == nil || !ip.IsGlobalUnicast() {
		return nil, nil, apierrors.NewBadRequest("address not allowed")
	}
	loc := &url.URL{Scheme: scheme, Host: net.JoinHostPort(podIP, port)}
	if port == "" {
		loc.Host = podIP
		if netutils.IsIPv6String(podIP) {
			loc.Host = "[" + podIP + "]"
		}
	}
	return loc, transport, nil
}

// nodeLocation is upstream's node ResourceLocation: the kubelet, unless id
// names a port other than the kubelet's.
func (k *kubelet) nodeLocation(ctx context.Context, id string) (*url.URL, http.RoundTripper, error) {
	scheme, name, port, ok := utilnet.SplitSchemeNamePort(id)
	if !ok {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid node request %q", id))
	}
	conn, err := k.connect(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if err := proxyableHost(ctx, conn.host); err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	if port == "" || port == conn.port {
		return &url.URL{Scheme: conn.scheme, Host: net.JoinHostPort(conn.host, conn.port)}, conn.transport, nil
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(conn.host, port)}, k.proxyTransport, nil
}

// proxyableHost refuses a node address that resolves to anything but
// global unicast addresses (loopback, link-local: the API server's own
// neighbourhood).
func proxyableHost(ctx context.Context, host string) error {
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return fmt.Errorf("no addresses for hostname")
	}
	for _, a := range addrs {
		if !a.IP.IsGlobalUnicast() {
			return fmt.Errorf("address not allowed")
		}
	}
	return nil
}

// serviceLocation is upstream's service ResourceLocation.
func serviceLocation(ctx context.Context, services, endpoints, pods rest.Getter, id string, transport http.RoundTripper) (*url.URL, http.RoundTripper, error) {
	scheme, name, port, ok := utilnet.SplitSchemeNamePort(id)
	if !ok {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id))
	}
	// A port number is looked up among the service's ports for its name,
	// which is what Endpoints ports carry.
	if number, err := strconv.ParseInt(port, 10, 64); err == nil {
		obj, err := services.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		svc, ok := obj.(*corev1.Service)
		if !ok {
			return nil, nil, apierrors.NewInternalError(fmt.Errorf("service getter returned %T, not a Service", obj))
		}
		found := false
		for _, p := range svc.Spec.Ports {
			if int64(p.Port) == number {
				port, found = p.Name, true
				break
			}
		}
		if !found {
			return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", number, name))
		}
	}
	obj, err := endpoints.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	eps, ok := obj.(*corev1.Endpoints)
	if !ok {
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("endpoints getter returned %T, not Endpoints", obj))
	}
	if len(eps.Subsets) == 0 {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	logger := klog.FromContext(ctx)
	first := rand.IntN(len(eps.Subsets))
	for i := range eps.Subsets {
		subset := &eps.Subsets[(first+i)%len(eps.Subsets)]
		if len(subset.Addresses) == 0 {
			continue
		}
		for _, p := range subset.Ports {
			if p.Name != port {
				continue
			}
			start := rand.IntN(len(subset.Addresses))
			for j := range subset.Addresses {
				addr := &subset.Addresses[(start+j)%len(subset.Addresses)]
				if err := podAddress(ctx, pods, addr); err != nil {
					logger.V(1).Info("Skipping service endpoint address", "service", name, "ip", addr.IP, "reason", err.Error())
					continue
				}
				return &url.URL{Scheme: scheme, Host: net.JoinHostPort(addr.IP, strconv.Itoa(int(p.Port)))}, transport, nil
			}
		}
	}
	return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", id))
}

// podAddress checks that addr is an IP of the pod it refers to, in the
// request's namespace: the service proxy reaches pods only.
func podAddress(ctx context.Context, pods rest.Getter, addr *corev1.EndpointAddress) error {
	if addr.TargetRef == nil {
		return fmt.Errorf("address has no target ref")
	}
	if addr.TargetRef.Namespace != genericapirequest.NamespaceValue(ctx) {
		return fmt.Errorf("address namespace doesn't match context namespace")
	}
	pod, err := getPod(ctx, pods, addr.TargetRef.Name)
	if err != nil {
		return err
	}
	for _, ip := range pod.Status.PodIPs {
		if ip.IP == addr.IP {
			return nil
		}
	}
	return fmt.Errorf("pod ip(s) %v don't match endpoint ip %s", pod.Status.PodIPs, addr.IP)
}
