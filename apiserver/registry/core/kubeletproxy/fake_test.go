package kubeletproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// objects is an in-memory rest.Getter: objects by namespace/name (a
// cluster-scoped object under "/name").
type objects map[string]runtime.Object

func (o objects) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	obj, ok := o[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("objects"), name)
	}
	return obj.DeepCopyObject(), nil
}

// fakeKubelet is an HTTPS server serving the kubelet endpoints the API
// server proxies to, recording the requests it was sent.
type fakeKubelet struct {
	server *httptest.Server
	mu     sync.Mutex
	seen   []*http.Request
}

func newFakeKubelet(t *testing.T) *fakeKubelet {
	t.Helper()
	k := &fakeKubelet{}
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, req *http.Request) {
		k.record(req)
		fmt.Fprintf(w, "log of %s", strings.TrimPrefix(req.URL.Path, "/containerLogs/"))
	})
	mux.HandleFunc("/exec/", k.serveExec)
	mux.HandleFunc("/attach/", k.serveExec)
	mux.HandleFunc("/portForward/", k.servePortForward)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, req *http.Request) {
		k.record(req)
		fmt.Fprint(w, "kubelet ok")
	})
	k.server = httptest.NewTLSServer(mux)
	t.Cleanup(k.server.Close)
	return k
}

func (k *fakeKubelet) record(req *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen = append(k.seen, req)
}

// last returns the last request the kubelet got.
func (k *fakeKubelet) last(t *testing.T) *http.Request {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.seen) == 0 {
		t.Fatal("the kubelet got no request")
	}
	return k.seen[len(k.seen)-1]
}

// config returns a Config trusting the kubelet's certificate.
func (k *fakeKubelet) config() Config {
	pool := x509.NewCertPool()
	pool.AddCert(k.server.Certificate())
	return Config{TLSClientConfig: &tls.Config{RootCAs: pool}, PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}}
}

// node returns a Node whose kubelet is k.
func (k *fakeKubelet) node(t *testing.T, name string) *corev1.Node {
	t.Helper()
	host, port, err := net.SplitHostPort(k.server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "ignored.invalid"}, {Type: corev1.NodeInternalIP, Address: host}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
		},
	}
}

// serveExec is a SPDY remotecommand (v4) server: it writes the command and
// whatever it read from stdin to stdout, "warning" to stderr, and exits
// with the code given by a command "exit N".
func (k *fakeKubelet) serveExec(w http.ResponseWriter, req *http.Request) {
	k.record(req)
	if _, err := httpstream.Handshake(req, w, []string{"v4.channel.k8s.io"}); err != nil {
		return
	}
	streams := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, req, func(s httpstream.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	q := req.URL.Query()
	want := 1
	for _, p := range []string{corev1.ExecStdinParam, corev1.ExecStdoutParam, corev1.ExecStderrParam} {
		if q.Get(p) == "1" {
			want++
		}
	}
	byType := map[string]httpstream.Stream{}
	deadline := time.After(10 * time.Second)
	for len(byType) < want {
		select {
		case s := <-streams:
			byType[s.Headers().Get(corev1.StreamType)] = s
		case <-deadline:
			return
		}
	}
	var input []byte
	if s := byType[corev1.StreamTypeStdin]; s != nil {
		input, _ = io.ReadAll(s)
	}
	command := q["command"]
	if s := byType[corev1.StreamTypeStdout]; s != nil {
		fmt.Fprintf(s, "%s|%s", strings.Join(command, " "), input)
		s.Close()
	}
	if s := byType[corev1.StreamTypeStderr]; s != nil {
		fmt.Fprint(s, "warning")
		s.Close()
	}
	errStream := byType[corev1.StreamTypeError]
	if len(command) == 2 && command[0] == "exit" {
		status := metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: command[1]}}}}
		_ = json.NewEncoder(errStream).Encode(status)
	}
	errStream.Close()
}

// servePortForward is a SPDY port-forward server echoing each data stream.
func (k *fakeKubelet) servePortForward(w http.ResponseWriter, req *http.Request) {
	k.record(req)
	if _, err := httpstream.Handshake(req, w, []string{"portforward.k8s.io"}); err != nil {
		return
	}
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, req, func(s httpstream.Stream, replySent <-chan struct{}) error {
		if s.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
			go func() {
				<-replySent
				data, _ := io.ReadAll(s)
				fmt.Fprintf(s, "port %s: %s", s.Headers().Get(corev1.PortHeader), data)
				s.Close()
			}()
		}
		return nil
	})
	if conn == nil {
		return
	}
	<-conn.CloseChan()
}

// responder records what a Connect handler answered with.
type responder struct{ w http.ResponseWriter }

func (r responder) Object(code int, obj runtime.Object) {
	r.w.WriteHeader(code)
	_ = json.NewEncoder(r.w).Encode(obj)
}

func (r responder) Error(err error) {
	http.Error(r.w, err.Error(), http.StatusBadGateway)
}

// serveConnect is a stand-in for the API server's connect handler: it
// decodes the query into the storage's options with AddConversions, as the
// server's parameter codec does, and serves Connect's handler; the
// storage's name is the first path segment.
func serveConnect(t *testing.T, r rest.Connecter, namespace string) *httptest.Server {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := AddConversions(scheme); err != nil {
		t.Fatal(err)
	}
	codec := runtime.NewParameterCodec(scheme)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name, rest, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		opts, subpath, key := r.NewConnectOptions()
		q := req.URL.Query()
		if subpath {
			q.Set(key, "/"+rest)
		}
		if err := codec.DecodeParameters(q, corev1.SchemeGroupVersion, opts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx := genericapirequest.WithNamespace(req.Context(), namespace)
		h, err := r.Connect(ctx, name, opts, responder{w})
		if err != nil {
			code := http.StatusInternalServerError
			if s, ok := err.(apierrors.APIStatus); ok {
				code = int(s.Status().Code)
			}
			http.Error(w, err.Error(), code)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}
