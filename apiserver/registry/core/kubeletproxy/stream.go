package kubeletproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	translator "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// websocketKubeletFeature is the node feature a kubelet declares
// (status.declaredFeatures) when it serves websockets itself, so that the
// API server need not translate them to SPDY.
const websocketKubeletFeature = "ExtendWebSocketsToKubelet"

// streamMethods are the methods exec, attach and portforward accept: POST
// for SPDY, GET for websockets (browsers can only GET).
var streamMethods = []string{"GET", "POST"}

// streamKind is one of the kubelet's streaming endpoints.
type streamKind struct {
	// path is the kubelet's path prefix ("exec", "attach", "portForward").
	path string
	// newOptions returns the empty options object.
	newOptions func() runtime.Object
	// query turns the options into the kubelet's query and names the
	// container they ask for ("" for port forwarding, which has none).
	query func(runtime.Object) (q url.Values, container string, perContainer bool, err error)
	// websocket translates a websocket request to SPDY for a kubelet
	// that speaks only SPDY.
	websocket func(location *url.URL, transport http.RoundTripper, upgrade http.Handler, opts runtime.Object, maxBytesPerSec int64) http.Handler
}

// StreamREST serves one of pods/exec, pods/attach and pods/portforward: a
// connection upgraded to SPDY or websockets and proxied to the kubelet of
// the pod's node.
type StreamREST struct {
	kind    streamKind
	pods    rest.Getter
	kubelet *kubelet
}

var _ rest.Connecter = &StreamREST{}

// NewPodExecREST returns the pods/exec storage.
func NewPodExecREST(pods, nodes rest.Getter, c Config) *StreamREST {
	return &StreamREST{kind: execKind, pods: pods, kubelet: newKubelet(nodes, c)}
}

// NewPodAttachREST returns the pods/attach storage.
func NewPodAttachREST(pods, nodes rest.Getter, c Config) *StreamREST {
	return &StreamREST{kind: attachKind, pods: pods, kubelet: newKubelet(nodes, c)}
}

// NewPodPortForwardREST returns the pods/portforward storage.
func NewPodPortForwardREST(pods, nodes rest.Getter, c Config) *StreamREST {
	return &StreamREST{kind: portForwardKind, pods: pods, kubelet: newKubelet(nodes, c)}
}

// New implements rest.Storage.
func (r *StreamREST) New() runtime.Object { return r.kind.newOptions() }

// Destroy implements rest.Storage; the pod storage owns the store.
func (r *StreamREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *StreamREST) NamespaceScoped() bool { return true }

// NewConnectOptions implements rest.Connecter.
func (r *StreamREST) NewConnectOptions() (runtime.Object, bool, string) {
	return r.kind.newOptions(), false, ""
}

// ConnectMethods implements rest.Connecter.
func (r *StreamREST) ConnectMethods() []string { return streamMethods }

// Connect implements rest.Connecter: it finds the pod's kubelet and returns
// a handler proxying the upgraded connection there.
func (r *StreamREST) Connect(ctx context.Context, name string, options runtime.Object, responder rest.Responder) (http.Handler, error) {
	if err := r.authorizeCreate(ctx); err != nil {
		return nil, err
	}
	q, container, perContainer, err := r.kind.query(options)
	if err != nil {
		return nil, err
	}
	pod, err := getPod(ctx, r.pods, name)
	if err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/%s/%s/%s", r.kind.path, pod.Namespace, pod.Name)
	if perContainer {
		if container, err = chooseContainer(pod, container); err != nil {
			return nil, err
		}
		path += "/" + container
	}
	if pod.Spec.NodeName == "" {
		return nil, noHost(name)
	}
	conn, err := r.kubelet.connect(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	location := conn.url(path, q)
	upgrade := r.kubelet.upgradeHandler(location, conn.transport, false, true, responder)
	if slices.Contains(conn.features, websocketKubeletFeature) {
		return upgrade, nil
	}
	return r.kind.websocket(location, conn.transport, upgrade, options, r.kubelet.maxBytesPerSec), nil
}

// authorizeCreate makes sure the user may "create" the subresource even when
// the request was authorized as a "get" (a websocket GET): upstream's fix
// for kubernetes#133515. Without an Authorizer it does nothing.
func (r *StreamREST) authorizeCreate(ctx context.Context) error {
	if r.kubelet.authorizer == nil {
		return nil
	}
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	if !ok {
		return apierrors.NewInternalError(errors.New("no request info in context"))
	}
	if info.Verb == "create" {
		return nil
	}
	attrs, err := filters.GetAuthorizerAttributes(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("error building authorizer attributes: %w", err))
	}
	decision, reason, err := r.kubelet.authorizer.Authorize(ctx, createAttributes{attrs})
	if err != nil {
		return err
	}
	if decision != authorizer.DecisionAllow {
		return apierrors.NewForbidden(schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}, info.Name, errors.New(reason))
	}
	return nil
}

// createAttributes are a request's authorization attributes with the verb
// "create".
type createAttributes struct{ authorizer.Attributes }

// GetVerb implements authorizer.Attributes.
func (createAttributes) GetVerb() string { return "create" }

// upgradeHandler returns the upgrade-aware proxy to location.
func (k *kubelet) upgradeHandler(location *url.URL, transport http.RoundTripper, wrapTransport, upgradeRequired bool, responder rest.Responder) *proxy.UpgradeAwareHandler {
	h := proxy.NewUpgradeAwareHandler(location, transport, wrapTransport, upgradeRequired, proxy.NewErrorResponder(responder))
	h.MaxBytesPerSec = k.maxBytesPerSec
	return h
}

// stdioQuery sets the kubelet's stdin/stdout/stderr/tty parameters.
func stdioQuery(q url.Values, stdin, stdout, stderr, tty bool) {
	for key, on := range map[string]bool{
		corev1.ExecStdinParam: stdin, corev1.ExecStdoutParam: stdout,
		corev1.ExecStderrParam: stderr, corev1.ExecTTYParam: tty,
	} {
		if on {
			q.Set(key, "1")
		}
	}
}

// translateStreams serves websocket (v5 channel protocol) requests by
// speaking SPDY to the kubelet, and everything else by proxying.
func translateStreams(location *url.URL, transport http.RoundTripper, upgrade http.Handler, stdin, stdout, stderr, tty bool, maxBytesPerSec int64) http.Handler {
	t := translator.NewStreamTranslatorHandler(location, transport, maxBytesPerSec, translator.Options{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, Tty: tty,
	})
	return translator.NewTranslatingHandler(upgrade, t, wsstream.IsWebSocketRequestWithStreamCloseProtocol)
}

var (
	execKind = streamKind{
		path:       "exec",
		newOptions: func() runtime.Object { return &corev1.PodExecOptions{} },
		query: func(o runtime.Object) (url.Values, string, bool, error) {
			opts, ok := o.(*corev1.PodExecOptions)
			if !ok {
				return nil, "", false, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", o))
			}
			q := url.Values{}
			stdioQuery(q, opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY)
			for _, c := range opts.Command {
				q.Add("command", c)
			}
			return q, opts.Container, true, nil
		},
		websocket: func(location *url.URL, transport http.RoundTripper, upgrade http.Handler, o runtime.Object, maxBytesPerSec int64) http.Handler {
			opts := o.(*corev1.PodExecOptions)
			return translateStreams(location, transport, upgrade, opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY, maxBytesPerSec)
		},
	}
	attachKind = streamKind{
		path:       "attach",
		newOptions: func() runtime.Object { return &corev1.PodAttachOptions{} },
		query: func(o runtime.Object) (url.Values, string, bool, error) {
			opts, ok := o.(*corev1.PodAttachOptions)
			if !ok {
				return nil, "", false, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", o))
			}
			q := url.Values{}
			stdioQuery(q, opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY)
			return q, opts.Container, true, nil
		},
		websocket: func(location *url.URL, transport http.RoundTripper, upgrade http.Handler, o runtime.Object, maxBytesPerSec int64) http.Handler {
			opts := o.(*corev1.PodAttachOptions)
			return translateStreams(location, transport, upgrade, opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY, maxBytesPerSec)
		},
	}
	portForwardKind = streamKind{
		path:       "portForward",
		newOptions: func() runtime.Object { return &corev1.PodPortForwardOptions{} },
		query: func(o runtime.Object) (url.Values, string, bool, error) {
			opts, ok := o.(*corev1.PodPortForwardOptions)
			if !ok {
				return nil, "", false, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", o))
			}
			q := url.Values{}
			if len(opts.Ports) > 0 {
				ports := make([]string, len(opts.Ports))
				for i, p := range opts.Ports {
					ports[i] = strconv.Itoa(int(p))
				}
				q.Set(corev1.PortHeader, strings.Join(ports, ","))
			}
			return q, "", false, nil
		},
		websocket: func(_ *url.URL, _ http.RoundTripper, upgrade http.Handler, _ runtime.Object, _ int64) http.Handler {
			// A websocket port forward tunnels SPDY: the kubelet sees SPDY.
			return translator.NewTranslatingHandler(upgrade, translator.NewTunnelingHandler(upgrade), wsstream.IsWebSocketRequestWithTunnelingProtocol)
		},
	}
)
