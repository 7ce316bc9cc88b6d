package kubeletproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// DefaultKubeletPort is the port used for a node whose status records no
// kubelet endpoint (upstream's --kubelet-port default).
const DefaultKubeletPort = 10250

// DefaultPreferredAddressTypes is the order node addresses are tried in when
// Config.PreferredAddressTypes is empty, as kube-apiserver's
// --kubelet-preferred-address-types default.
var DefaultPreferredAddressTypes = []corev1.NodeAddressType{
	corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeInternalIP, corev1.NodeExternalDNS, corev1.NodeExternalIP,
}

// Config is how the API server reaches kubelets and proxied backends.
type Config struct {
	// TLSClientConfig holds the client certificate the API server presents to
	// kubelets (--kubelet-client-certificate/-key) and the CA it verifies
	// them with (--kubelet-certificate-authority, as RootCAs). Nil, or nil
	// RootCAs, means the kubelet's serving certificate is not verified, as
	// upstream does without --kubelet-certificate-authority.
	TLSClientConfig *tls.Config
	// PreferredAddressTypes is the order in which a node's status addresses
	// are tried (--kubelet-preferred-address-types); empty means
	// DefaultPreferredAddressTypes.
	PreferredAddressTypes []corev1.NodeAddressType
	// Timeout bounds connecting to a kubelet, TCP and TLS handshake
	// (--kubelet-timeout); it does not bound the streams themselves, which
	// (logs -f, exec) may last as long as the client wants. Zero means 5s.
	Timeout time.Duration
	// DefaultPort is the kubelet port for nodes whose status has no
	// daemonEndpoints.kubeletEndpoint.port; zero means DefaultKubeletPort.
	DefaultPort int
	// ProxyTransport carries pods/proxy, services/proxy and nodes/proxy to
	// ports other than the kubelet's. Nil means a transport that presents no
	// client certificate and does not verify servers, as upstream's default
	// proxy transport without --proxy-client-cert-file.
	ProxyTransport http.RoundTripper
	// Authorizer, when set, is asked whether the user may "create" the
	// exec, attach or portforward subresource when the request came as a
	// websocket GET (upstream's AuthorizePodWebsocketUpgradeCreatePermission,
	// on by default): a policy granting only "get" must not open a shell.
	// Wire the server's authorizer here.
	Authorizer authorizer.Authorizer
	// SplitLogStreams enables PodLogOptions.stream (upstream's alpha
	// PodLogsQuerySplitStreams gate, off by default).
	SplitLogStreams bool
	// MaxBytesPerSec limits each proxied connection; zero means no limit.
	MaxBytesPerSec int64
}

// kubelet is a Config made ready to connect: the transports built once and
// the defaults filled in.
type kubelet struct {
	nodes          rest.Getter
	addressTypes   []corev1.NodeAddressType
	defaultPort    int
	transport      *http.Transport
	insecure       *http.Transport
	proxyTransport http.RoundTripper
	authorizer     authorizer.Authorizer
	splitStreams   bool
	maxBytesPerSec int64
}

// connection is where and how to reach one node's kubelet.
type connection struct {
	scheme, host, port string
	transport          http.RoundTripper
	// insecure skips verifying the kubelet's certificate
	// (PodLogOptions.insecureSkipTLSVerifyBackend).
	insecure http.RoundTripper
	// features are the node's status.declaredFeatures.
	features []string
}

func newKubelet(nodes rest.Getter, c Config) *kubelet {
	k := &kubelet{
		nodes:          nodes,
		addressTypes:   c.PreferredAddressTypes,
		defaultPort:    c.DefaultPort,
		proxyTransport: c.ProxyTransport,
		authorizer:     c.Authorizer,
		splitStreams:   c.SplitLogStreams,
		maxBytesPerSec: c.MaxBytesPerSec,
	}
	if len(k.addressTypes) == 0 {
		k.addressTypes = DefaultPreferredAddressTypes
	}
	if k.defaultPort <= 0 {
		k.defaultPort = DefaultKubeletPort
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var tlsConfig *tls.Config
	if c.TLSClientConfig != nil {
		tlsConfig = c.TLSClientConfig.Clone()
	} else {
		tlsConfig = &tls.Config{}
	}
	if tlsConfig.RootCAs == nil {
		tlsConfig.InsecureSkipVerify = true
	}
	k.transport = newTransport(tlsConfig, timeout)
	insecureConfig := tlsConfig.Clone()
	insecureConfig.InsecureSkipVerify = true
	k.insecure = newTransport(insecureConfig, timeout)
	if k.proxyTransport == nil {
		k.proxyTransport = newTransport(&tls.Config{InsecureSkipVerify: true}, 30*time.Second)
	}
	return k
}

// newTransport returns a plain *http.Transport — the upgrade-aware proxy
// dials upgrades itself and must find the TLS config and dialer on it.
func newTransport(tlsConfig *tls.Config, timeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return utilnet.SetTransportDefaults(&http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: timeout,
	})
}

// connect finds the kubelet of the named node: its address of the first
// preferred type and the port its status reports.
func (k *kubelet) connect(ctx context.Context, nodeName string) (*connection, error) {
	if k.nodes == nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("no node getter to find the kubelet of node %q", nodeName))
	}
	obj, err := k.nodes.Get(genericapirequest.WithNamespace(ctx, metav1.NamespaceNone), nodeName, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("node getter returned %T, not a Node", obj))
	}
	host, err := preferredAddress(node, k.addressTypes)
	if err != nil {
		return nil, err
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 {
		port = k.defaultPort
	}
	return &connection{
		scheme:    "https",
		host:      host,
		port:      strconv.Itoa(port),
		transport: k.transport,
		insecure:  k.insecure,
		features:  node.Status.DeclaredFeatures,
	}, nil
}

// preferredAddress returns the node's first address of the first type in
// types that it has, failing with upstream's message when it has none.
func preferredAddress(node *corev1.Node, types []corev1.NodeAddressType) (string, error) {
	for _, t := range types {
		for _, a := range node.Status.Addresses {
			if a.Type == t {
				return a.Address, nil
			}
		}
	}
	return "", fmt.Errorf("no preferred addresses found; known addresses: %v", node.Status.Addresses)
}

// GetterFunc adapts a function to rest.Getter, for wiring a storage that is
// built later (the nodes storage, when pods are built first).
type GetterFunc func(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error)

// Get implements rest.Getter.
func (f GetterFunc) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return f(ctx, name, options)
}
