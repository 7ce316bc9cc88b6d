package kubeletproxy

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	clientspdy "k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/utils/ptr"
)

func pod(name, node string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: corev1.PodSpec{NodeName: node}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

func ctxIn(ns string) context.Context {
	return genericapirequest.WithNamespace(context.Background(), ns)
}

// fixture is a kubelet on node "n1" and the pods and nodes storages.
func fixture(t *testing.T) (*fakeKubelet, objects, objects) {
	k := newFakeKubelet(t)
	withInit := pod("init", "n1", "a", "b")
	withInit.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
	pods := objects{}
	for _, p := range []*corev1.Pod{pod("web", "n1", "app"), pod("multi", "n1", "a", "b"), withInit,
		pod("pending", "", "app"), pod("lost", "gone", "app"), pod("bare", "n2", "app")} {
		pods["default/"+p.Name] = p
	}
	nodes := objects{"/n1": k.node(t, "n1"), "/n2": &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n2"}}}}}
	return k, pods, nodes
}

func TestPodLog(t *testing.T) {
	k, pods, nodes := fixture(t)
	since := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		name, pod string
		opts      corev1.PodLogOptions
		split     bool
		wantLog   string
		wantQuery url.Values
		wantErr   string
		wantCode  int32
	}{
		{name: "only container", pod: "web", wantLog: "log of default/web/app", wantQuery: url.Values{}},
		{name: "all options", pod: "multi",
			opts: corev1.PodLogOptions{Container: "b", Follow: true, Previous: true, Timestamps: true,
				SinceSeconds: ptr.To[int64](10), TailLines: ptr.To[int64](3), LimitBytes: ptr.To[int64](100)},
			wantLog: "log of default/multi/b",
			wantQuery: url.Values{"follow": {"true"}, "previous": {"true"}, "timestamps": {"true"},
				"sinceSeconds": {"10"}, "tailLines": {"3"}, "limitBytes": {"100"}}},
		{name: "since time", pod: "web", opts: corev1.PodLogOptions{SinceTime: &since},
			wantLog: "log of default/web/app", wantQuery: url.Values{"sinceTime": {"2026-01-02T03:04:05Z"}}},
		{name: "stream defaults to All when split", pod: "web", split: true,
			wantLog: "log of default/web/app", wantQuery: url.Values{"stream": {"All"}}},
		{name: "init container", pod: "init", opts: corev1.PodLogOptions{Container: "setup"}, wantLog: "log of default/init/setup", wantQuery: url.Values{}},
		{name: "several containers", pod: "multi", wantCode: 400,
			wantErr: "a container name must be specified for pod multi, choose one of: [a b]"},
		{name: "several containers and init", pod: "init", wantCode: 400,
			wantErr: "a container name must be specified for pod init, choose one of: [setup a b]"},
		{name: "unknown container", pod: "web", opts: corev1.PodLogOptions{Container: "x"}, wantCode: 400,
			wantErr: "container x is not valid for pod web"},
		{name: "negative tailLines", pod: "web", opts: corev1.PodLogOptions{TailLines: ptr.To[int64](-1)}, wantCode: 422,
			wantErr: `PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0`},
		{name: "stream without the gate", pod: "web", opts: corev1.PodLogOptions{Stream: ptr.To("Stdout")}, wantCode: 422,
			wantErr: "stream: Forbidden: may not be specified"},
		{name: "missing pod", pod: "nope", wantCode: 404, wantErr: `objects "nope" not found`},
		{name: "missing node", pod: "lost", wantCode: 404, wantErr: `objects "gone" not found`},
		{name: "no preferred address", pod: "bare", wantErr: "no preferred addresses found; known addresses: [{Hostname n2}]"},
		{name: "unscheduled pod has no log", pod: "pending", wantLog: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := k.config()
			c.SplitLogStreams = tt.split
			r := NewPodLogREST(pods, nodes, c)
			opts := tt.opts
			obj, err := r.Get(ctxIn("default"), tt.pod, &opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if tt.wantCode != 0 && apierrors.ReasonForError(err) != "" {
					if code := err.(apierrors.APIStatus).Status().Code; code != tt.wantCode {
						t.Errorf("code = %d, want %d", code, tt.wantCode)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stream, _, contentType, err := obj.(rest.ResourceStreamer).InputStream(context.Background(), "v1", "")
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantLog == "" {
				if stream != nil {
					t.Fatalf("unscheduled pod has a log stream")
				}
				return
			}
			defer stream.Close()
			got, err := io.ReadAll(stream)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.wantLog || contentType != "text/plain" {
				t.Errorf("log = %q (%s), want %q (text/plain)", got, contentType, tt.wantLog)
			}
			if q := k.last(t).URL.Query(); q.Encode() != tt.wantQuery.Encode() {
				t.Errorf("kubelet query = %v, want %v", q, tt.wantQuery)
			}
		})
	}
}

func TestPodLogVerifiesKubelet(t *testing.T) {
	k, pods, nodes := fixture(t)
	c := k.config()
	c.TLSClientConfig.RootCAs = x509.NewCertPool() // trusts nothing
	for _, tt := range []struct {
		name     string
		insecure bool
		wantErr  bool
	}{{"verified", false, true}, {"insecureSkipTLSVerifyBackend", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := NewPodLogREST(pods, nodes, c).Get(ctxIn("default"), "web", &corev1.PodLogOptions{InsecureSkipTLSVerifyBackend: tt.insecure})
			if err != nil {
				t.Fatal(err)
			}
			stream, _, _, err := obj.(rest.ResourceStreamer).InputStream(context.Background(), "v1", "")
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if stream != nil {
				stream.Close()
			}
		})
	}
}

func TestExec(t *testing.T) {
	k, pods, nodes := fixture(t)
	api := serveConnect(t, NewPodExecREST(pods, nodes, k.config()), "default")
	attach := serveConnect(t, NewPodAttachREST(pods, nodes, k.config()), "default")
	tests := []struct {
		name, protocol string
		server         *httptest.Server
		query          string
		stdin          string
		wantPath       string
		wantStdout     string
		wantExit       int
		wantErr        string
	}{
		{name: "spdy", protocol: "spdy", server: api, query: "command=echo&command=hi&stdin=true&stdout=true&stderr=true",
			stdin: "input", wantPath: "/exec/default/web/app", wantStdout: "echo hi|input"},
		{name: "websocket", protocol: "websocket", server: api, query: "command=echo&command=hi&stdin=true&stdout=true&stderr=true",
			stdin: "input", wantPath: "/exec/default/web/app", wantStdout: "echo hi|input"},
		{name: "spdy exit code", protocol: "spdy", server: api, query: "command=exit&command=3&stdout=true",
			wantPath: "/exec/default/web/app", wantStdout: "exit 3|", wantExit: 3},
		{name: "websocket exit code", protocol: "websocket", server: api, query: "command=exit&command=3&stdout=true",
			wantPath: "/exec/default/web/app", wantStdout: "exit 3|", wantExit: 3},
		{name: "attach", protocol: "spdy", server: attach, query: "container=b&stdout=true",
			wantPath: "/attach/default/multi/b", wantStdout: "|"},
		{name: "unscheduled", protocol: "spdy", server: api, query: "command=true&stdout=true", wantErr: "pod pending does not have a host assigned"},
		{name: "several containers", protocol: "spdy", server: api, query: "command=true&stdout=true",
			wantErr: "a container name must be specified for pod multi, choose one of: [a b]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "web"
			switch {
			case strings.HasPrefix(tt.wantPath, "/attach"):
				name = "multi"
			case strings.Contains(tt.wantErr, "pending"):
				name = "pending"
			case strings.Contains(tt.wantErr, "multi"):
				name = "multi"
			}
			u, _ := url.Parse(tt.server.URL + "/" + name + "?" + tt.query)
			config := &restclient.Config{Host: tt.server.URL}
			var executor remotecommand.Executor
			var err error
			if tt.protocol == "spdy" {
				executor, err = remotecommand.NewSPDYExecutor(config, "POST", u)
			} else {
				executor, err = remotecommand.NewWebSocketExecutor(config, "GET", u.String())
			}
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			opts := remotecommand.StreamOptions{Stdout: &stdout}
			if strings.Contains(tt.query, "stderr=true") {
				opts.Stderr = &stderr
			}
			if tt.stdin != "" {
				opts.Stdin = strings.NewReader(tt.stdin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = executor.StreamWithContext(ctx, opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			var exitErr exec.CodeExitError
			switch {
			case tt.wantExit != 0 && (!errors.As(err, &exitErr) || exitErr.Code != tt.wantExit):
				t.Fatalf("error = %v, want exit code %d", err, tt.wantExit)
			case tt.wantExit == 0 && err != nil:
				t.Fatal(err)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if opts.Stderr != nil && stderr.String() != "warning" {
				t.Errorf("stderr = %q, want %q", stderr.String(), "warning")
			}
			if got := k.last(t).URL.Path; got != tt.wantPath {
				t.Errorf("kubelet path = %q, want %q", got, tt.wantPath)
			}
		})
	}
}

func TestPortForward(t *testing.T) {
	k, pods, nodes := fixture(t)
	api := serveConnect(t, NewPodPortForwardREST(pods, nodes, k.config()), "default")
	u, _ := url.Parse(api.URL + "/web?ports=8080")
	config := &restclient.Config{Host: api.URL}
	tests := []struct {
		name   string
		dialer func() (httpstream.Dialer, error)
	}{
		{"spdy", func() (httpstream.Dialer, error) {
			transport, upgrader, err := clientspdy.RoundTripperFor(config)
			return clientspdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, "POST", u), err
		}},
		{"spdy over websocket", func() (httpstream.Dialer, error) {
			return portforward.NewSPDYOverWebsocketDialerForStreaming(u, config)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialer, err := tt.dialer()
			if err != nil {
				t.Fatal(err)
			}
			conn, protocol, err := dialer.Dial("portforward.k8s.io")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if protocol != "portforward.k8s.io" {
				t.Fatalf("protocol = %q", protocol)
			}
			headers := http.Header{}
			headers.Set(corev1.StreamType, corev1.StreamTypeError)
			headers.Set(corev1.PortHeader, "8080")
			headers.Set(corev1.PortForwardRequestIDHeader, "0")
			if _, err := conn.CreateStream(headers); err != nil {
				t.Fatal(err)
			}
			headers.Set(corev1.StreamType, corev1.StreamTypeData)
			data, err := conn.CreateStream(headers)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(data, "ping"); err != nil {
				t.Fatal(err)
			}
			data.Close()
			got, err := io.ReadAll(data)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "port 8080: ping" {
				t.Errorf("forwarded = %q", got)
			}
			req := k.last(t)
			if req.URL.Path != "/portForward/default/web" || req.URL.Query().Get("port") != "8080" {
				t.Errorf("kubelet got %s", req.URL)
			}
		})
	}
}

func TestServiceProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "backend "+req.URL.Path)
	}))
	defer backend.Close()
	bu, _ := url.Parse(backend.URL)
	host, port := bu.Hostname(), bu.Port()
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	portNum := int32(n)
	services := objects{"default/svc": &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "svc"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}}
	ref := func(name string) *corev1.ObjectReference {
		return &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name}
	}
	endpoints := objects{
		"default/svc": &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: host, TargetRef: ref("backend")}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: portNum}},
		}}},
		"default/empty": &corev1.Endpoints{},
		"default/stray": &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: host, TargetRef: ref("other")}, {IP: host}},
			Ports:     []corev1.EndpointPort{{Name: "", Port: portNum}},
		}}},
	}
	backendPod := pod("backend", "n1", "app")
	backendPod.Status.PodIPs = []corev1.PodIP{{IP: host}}
	otherPod := pod("other", "n1", "app")
	otherPod.Status.PodIPs = []corev1.PodIP{{IP: "10.9.9.9"}}
	pods := objects{"default/backend": backendPod, "default/other": otherPod}
	api := serveConnect(t, NewServiceProxyREST(services, endpoints, pods, Config{}), "default")
	tests := []struct {
		path, want string
		code       int
	}{
		{"/svc:http/api/x", "backend /api/x", 200},
		{"/svc:80/api/", "backend /api/", 200},
		{"/http:svc:http/", "backend /", 200},
		{"/svc:81/", `no service port 81 found for service "svc"`, 503},
		{"/empty/", `no endpoints available for service "empty"`, 503},
		{"/stray/", `no endpoints available for service "stray"`, 503},
		{"/svc:https:x:y/", `invalid service request "svc:https:x:y"`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(api.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.want) {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.code, tt.want)
			}
		})
	}
}

func TestNodeProxy(t *testing.T) {
	k, _, _ := fixture(t)
	local := k.node(t, "local")
	remote := k.node(t, "remote")
	remote.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.2.3"}}
	nodes := objects{"/local": local, "/remote": remote}
	kubeletPort := local.Status.DaemonEndpoints.KubeletEndpoint.Port
	r := NewNodeProxyREST(nodes, k.config())
	tests := []struct {
		id, wantURL, wantErr string
		kubeletTransport     bool
	}{
		{id: "remote", wantURL: "https://10.1.2.3:" + itoa(kubeletPort), kubeletTransport: true},
		{id: "remote:" + itoa(kubeletPort), wantURL: "https://10.1.2.3:" + itoa(kubeletPort), kubeletTransport: true},
		{id: "http:remote:9100", wantURL: "http://10.1.2.3:9100"},
		{id: "local", wantErr: "address not allowed"},
		{id: "a:b:c:d", wantErr: `invalid node request "a:b:c:d"`},
		{id: "missing", wantErr: `objects "missing" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			loc, transport, err := r.kubelet.nodeLocation(ctxIn(""), tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.String() != tt.wantURL {
				t.Errorf("location = %s, want %s", loc, tt.wantURL)
			}
			if (transport == r.kubelet.transport) != tt.kubeletTransport {
				t.Errorf("kubelet transport used: %v, want %v", transport == r.kubelet.transport, tt.kubeletTransport)
			}
		})
	}
}

func itoa(p int32) string { return strconv.Itoa(int(p)) }
