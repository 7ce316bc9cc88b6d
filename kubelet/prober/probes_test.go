package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
)

// execCall is one command a fakeExec was asked to run.
type execCall struct {
	containerID string
	cmd         []string
	timeout     time.Duration
	at          time.Time
}

// fakeExec stands in for the runtime's ExecSync, the interface boundary of
// this package: respond decides what each command returns.
type fakeExec struct {
	now     func() time.Time
	respond func(cmd []string, n int) (stdout, stderr string, code int, err error)

	mu    sync.Mutex
	calls []execCall
	count map[string]int
}

func (f *fakeExec) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) ([]byte, []byte, int, error) {
	f.mu.Lock()
	if f.count == nil {
		f.count = map[string]int{}
	}
	f.count[cmd[0]]++
	n := f.count[cmd[0]]
	var at time.Time
	if f.now != nil {
		at = f.now()
	}
	f.calls = append(f.calls, execCall{containerID: containerID, cmd: cmd, timeout: timeout, at: at})
	f.mu.Unlock()
	if f.respond == nil {
		return nil, nil, 0, nil
	}
	stdout, stderr, code, err := f.respond(cmd, n)
	return []byte(stdout), []byte(stderr), code, err
}

// callsOf returns the calls of command name.
func (f *fakeExec) callsOf(name string) []execCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []execCall
	for _, c := range f.calls {
		if c.cmd[0] == name {
			out = append(out, c)
		}
	}
	return out
}

type timeoutError struct{}

func (timeoutError) Error() string { return "exec timed out" }
func (timeoutError) Timeout() bool { return true }

func newTestManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	if cfg.Exec == nil {
		cfg.Exec = &fakeExec{}
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		m.Stop()
		m.probeTransport.CloseIdleConnections()
	})
	return m
}

func testPod(ip string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1"},
		Spec:       corev1.PodSpec{Containers: containers},
		Status:     corev1.PodStatus{PodIP: ip},
	}
}

// serverPort is the port of an httptest server.
func serverPort(t *testing.T, rawURL string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://"))
	if err != nil {
		t.Fatalf("split %s: %v", rawURL, err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestHTTPProbe(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lastUA, lastAccept, lastHeader, lastHost string
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastUA, lastAccept, lastHeader, lastHost = r.UserAgent(), r.Header.Get("Accept"), r.Header.Get("X-Probe"), r.Host
		mu.Unlock()
		fmt.Fprint(w, "fine")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/redirect-same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/redirect-loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/redirect-loop", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 3*maxOutputLength))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := serverPort(t, srv.URL)
	// other is a different host: a redirect to it is not followed.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect to another host was followed: %s", r.URL)
	}))
	t.Cleanup(other.Close)
	mux.HandleFunc("/redirect-other", func(w http.ResponseWriter, r *http.Request) {
		u := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
		w.Header().Set("Location", u+"/elsewhere")
		w.WriteHeader(http.StatusMovedPermanently)
		fmt.Fprint(w, "moved")
	})
	closed := closedPort(t)

	container := corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	tests := []struct {
		name       string
		action     corev1.HTTPGetAction
		timeout    int32
		want       result
		wantOutput string
		wantErr    bool
	}{
		{name: "success", action: corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(port))}, want: resultSuccess, wantOutput: "fine"},
		{name: "named port", action: corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("http")}, want: resultSuccess, wantOutput: "fine"},
		{name: "port number as string", action: corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString(strconv.Itoa(port))}, want: resultSuccess},
		{name: "unknown port name", action: corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("nope")}, want: resultUnknown, wantErr: true},
		{name: "status 500", action: corev1.HTTPGetAction{Path: "/fail", Port: intstr.FromInt32(int32(port))}, want: resultFailure, wantOutput: "HTTP probe failed with statuscode: 500"},
		{name: "timeout", action: corev1.HTTPGetAction{Path: "/slow", Port: intstr.FromInt32(int32(port))}, timeout: 1, want: resultFailure, wantOutput: "Client.Timeout exceeded"},
		{name: "connection refused", action: corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(int32(closed))}, want: resultFailure, wantOutput: "connection refused"},
		{name: "redirect to same host is followed", action: corev1.HTTPGetAction{Path: "/redirect-same", Port: intstr.FromInt32(int32(port))}, want: resultSuccess, wantOutput: "fine"},
		{name: "redirect to another host is a warning", action: corev1.HTTPGetAction{Path: "/redirect-other", Port: intstr.FromInt32(int32(port))}, want: resultWarning, wantOutput: "Probe terminated redirects, Response body: moved"},
		{name: "redirect loop stops", action: corev1.HTTPGetAction{Path: "/redirect-loop", Port: intstr.FromInt32(int32(port))}, want: resultFailure, wantOutput: "stopped after 10 redirects"},
		{name: "host given", action: corev1.HTTPGetAction{Host: "127.0.0.1", Path: "/ok", Port: intstr.FromInt32(int32(port))}, want: resultSuccess},
	}
	m := newTestManager(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ip := "127.0.0.1"
			if tt.action.Host != "" {
				ip = "192.0.2.1" // never used: the action's host wins
			}
			spec := &corev1.Probe{TimeoutSeconds: tt.timeout, ProbeHandler: corev1.ProbeHandler{HTTPGet: &tt.action}}
			res, out, err := m.runProbe(context.Background(), spec, testPod(ip, container), &container, "cid")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if res != tt.want {
				t.Errorf("result = %s, want %s (output %q)", res, tt.want, out)
			}
			if !strings.Contains(out, tt.wantOutput) {
				t.Errorf("output = %q, want it to contain %q", out, tt.wantOutput)
			}
		})
	}

	t.Run("headers", func(t *testing.T) {
		action := &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(port)), HTTPHeaders: []corev1.HTTPHeader{
			{Name: "X-Probe", Value: "yes"}, {Name: "Host", Value: "example.test"},
		}}
		spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: action}}
		if res, out, err := m.runProbe(context.Background(), spec, testPod("127.0.0.1", container), &container, "cid"); res != resultSuccess || err != nil {
			t.Fatalf("probe = %s %q %v", res, out, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if lastUA != "kube-probe/1.37" || lastAccept != "*/*" || lastHeader != "yes" || lastHost != "example.test" {
			t.Errorf("User-Agent %q Accept %q X-Probe %q Host %q; want kube-probe/1.37, */*, yes, example.test", lastUA, lastAccept, lastHeader, lastHost)
		}
	})

	t.Run("body is read up to 10KiB", func(t *testing.T) {
		spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/big", Port: intstr.FromInt32(int32(port))}}}
		res, out, err := m.runProbe(context.Background(), spec, testPod("127.0.0.1", container), &container, "cid")
		if res != resultSuccess || err != nil || len(out) != maxOutputLength {
			t.Errorf("probe = %s, %d bytes, %v; want success with %d bytes", res, len(out), err, maxOutputLength)
		}
	})

	t.Run("no pod IP", func(t *testing.T) {
		spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(port))}}}
		if _, _, err := m.runProbe(context.Background(), spec, testPod("", container), &container, "cid"); !errors.Is(err, errNoPodIP) {
			t.Errorf("err = %v, want errNoPodIP", err)
		}
	})
}

func TestHTTPSProbe(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "secure") }))
	t.Cleanup(srv.Close)
	m := newTestManager(t, Config{})
	c := corev1.Container{Name: "app"}
	spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Scheme: corev1.URISchemeHTTPS, Port: intstr.FromInt32(int32(serverPort(t, srv.URL))),
	}}}
	res, out, err := m.runProbe(context.Background(), spec, testPod("127.0.0.1", c), &c, "cid")
	if res != resultSuccess || out != "secure" || err != nil {
		t.Errorf("probe = %s %q %v; want success (certificate not verified)", res, out, err)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestTCPProbe(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	open := l.Addr().(*net.TCPAddr).Port
	closed := closedPort(t)
	c := corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "tcp", ContainerPort: int32(open)}}}
	tests := []struct {
		name       string
		port       intstr.IntOrString
		host       string
		want       result
		wantOutput string
	}{
		{name: "open", port: intstr.FromInt32(int32(open)), want: resultSuccess},
		{name: "named", port: intstr.FromString("tcp"), want: resultSuccess},
		{name: "host given", port: intstr.FromInt32(int32(open)), host: "127.0.0.1", want: resultSuccess},
		{name: "refused", port: intstr.FromInt32(int32(closed)), want: resultFailure, wantOutput: "connect: connection refused"},
		{name: "invalid port", port: intstr.FromInt32(70000), want: resultUnknown, wantOutput: ""},
	}
	m := newTestManager(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ip := "127.0.0.1"
			if tt.host != "" {
				ip = "192.0.2.1"
			}
			spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: tt.port, Host: tt.host}}}
			res, out, err := m.runProbe(context.Background(), spec, testPod(ip, c), &c, "cid")
			if res != tt.want || !strings.Contains(out, tt.wantOutput) {
				t.Errorf("probe = %s %q %v; want %s containing %q", res, out, err, tt.want, tt.wantOutput)
			}
			if (tt.want == resultUnknown) != (err != nil) {
				t.Errorf("err = %v with result %s", err, res)
			}
		})
	}
}

func TestGRPCProbe(t *testing.T) {
	t.Parallel()
	listen := func(register func(*grpc.Server)) int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := grpc.NewServer()
		register(s)
		go func() { _ = s.Serve(l) }()
		t.Cleanup(s.Stop)
		return l.Addr().(*net.TCPAddr).Port
	}
	hs := health.NewServer()
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus("up", healthpb.HealthCheckResponse_SERVING)
	withHealth := listen(func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hs) })
	withoutHealth := listen(func(*grpc.Server) {})
	closed := closedPort(t)

	str := func(s string) *string { return &s }
	tests := []struct {
		name       string
		port       int
		service    *string
		want       result
		wantOutput string
	}{
		{name: "server healthy", port: withHealth, want: resultSuccess, wantOutput: "service healthy"},
		{name: "service healthy", port: withHealth, service: str("up"), want: resultSuccess, wantOutput: "service healthy"},
		{name: "service not serving", port: withHealth, service: str("down"), want: resultFailure, wantOutput: `service unhealthy (responded with "NOT_SERVING")`},
		{name: "unknown service", port: withHealth, service: str("nope"), want: resultFailure, wantOutput: "error: health rpc probe failed: rpc error: code = NotFound"},
		{name: "no health service", port: withoutHealth, want: resultFailure, wantOutput: "error: this server does not implement the grpc health protocol (grpc.health.v1.Health)"},
		{name: "nothing listening", port: closed, want: resultFailure, wantOutput: "timeout: failed to connect service"},
	}
	m := newTestManager(t, Config{})
	c := corev1.Container{Name: "app"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := &corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: int32(tt.port), Service: tt.service}}}
			res, out, err := m.runProbe(context.Background(), spec, testPod("127.0.0.1", c), &c, "cid")
			if err != nil || res != tt.want || !strings.Contains(out, tt.wantOutput) {
				t.Errorf("probe = %s %q %v; want %s containing %q", res, out, err, tt.want, tt.wantOutput)
			}
		})
	}
}

func TestExecProbe(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("o", maxOutputLength)
	tests := []struct {
		name       string
		cmd        []string
		env        []corev1.EnvVar
		stdout     string
		stderr     string
		code       int
		err        error
		want       result
		wantOutput string
		wantCmd    []string
		wantErr    bool
	}{
		{name: "exit 0", cmd: []string{"true"}, stdout: "ok\n", want: resultSuccess, wantOutput: "ok\n"},
		{name: "exit 1 keeps stdout and stderr", cmd: []string{"false"}, stdout: "out ", stderr: "err", code: 1, want: resultFailure, wantOutput: "out err"},
		{name: "timeout error", cmd: []string{"sleep", "10"}, err: fmt.Errorf("exec: %w", context.DeadlineExceeded), want: resultFailure, wantOutput: `command timed out: "sleep 10" timed out after 2s`},
		{name: "Timeout() error", cmd: []string{"sleep", "10"}, err: timeoutError{}, want: resultFailure, wantOutput: "command timed out"},
		{name: "other error", cmd: []string{"x"}, err: errors.New("container not running"), want: resultUnknown, wantErr: true},
		{name: "output truncated to 10KiB", cmd: []string{"chatty"}, stdout: big, stderr: "tail", code: 1, want: resultFailure, wantOutput: big},
		{
			name: "static env expansion", cmd: []string{"echo", "$(A)", "$(B)", "$$(A)", "$(MISSING)"},
			env:     []corev1.EnvVar{{Name: "A", Value: "a"}, {Name: "B", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			want:    resultSuccess,
			wantCmd: []string{"echo", "a", "", "$(A)", "$(MISSING)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := &fakeExec{respond: func([]string, int) (string, string, int, error) { return tt.stdout, tt.stderr, tt.code, tt.err }}
			m := newTestManager(t, Config{Exec: fe})
			c := corev1.Container{Name: "app", Env: tt.env}
			spec := &corev1.Probe{TimeoutSeconds: 2, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: tt.cmd}}}
			res, out, err := m.runProbe(context.Background(), spec, testPod("", c), &c, "cid-7")
			if (err != nil) != tt.wantErr || res != tt.want {
				t.Fatalf("probe = %s %q %v; want %s (error %v)", res, out, err, tt.want, tt.wantErr)
			}
			if tt.wantOutput != "" && out != tt.wantOutput && !strings.Contains(out, tt.wantOutput) {
				t.Errorf("output = %.80q, want %.80q", out, tt.wantOutput)
			}
			if len(out) > maxOutputLength {
				t.Errorf("output has %d bytes, more than %d", len(out), maxOutputLength)
			}
			calls := fe.callsOf(tt.cmd[0])
			if len(calls) != 1 || calls[0].containerID != "cid-7" || calls[0].timeout != 2*time.Second {
				t.Fatalf("calls = %+v, want one in cid-7 with a 2s timeout", calls)
			}
			if tt.wantCmd != nil && strings.Join(calls[0].cmd, "|") != strings.Join(tt.wantCmd, "|") {
				t.Errorf("command = %q, want %q", calls[0].cmd, tt.wantCmd)
			}
		})
	}
}

// TestProbeEvents checks the events and retries of one probe run.
func TestProbeEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		code      int
		out       string
		err       error
		kind      string
		want      result
		wantErr   bool
		wantCalls int
		wantEvent string
	}{
		{name: "success records nothing", kind: KindReadiness, want: resultSuccess, wantCalls: 1},
		{name: "liveness failure", kind: KindLiveness, code: 1, out: "boom", want: resultFailure, wantCalls: 1, wantEvent: "Warning Unhealthy Liveness probe failed: boom"},
		{name: "readiness failure", kind: KindReadiness, code: 2, out: "not yet", want: resultFailure, wantCalls: 1, wantEvent: "Warning Unhealthy Readiness probe failed: not yet"},
		{name: "startup failure", kind: KindStartup, code: 2, out: "starting", want: resultFailure, wantCalls: 1, wantEvent: "Warning Unhealthy Startup probe failed: starting"},
		{name: "error is retried 3 times", kind: KindReadiness, err: errors.New("no such container"), want: resultFailure, wantErr: true, wantCalls: 3,
			wantEvent: "Warning Unhealthy Readiness probe errored and resulted in unknown state: no such container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := &fakeExec{respond: func([]string, int) (string, string, int, error) { return tt.out, "", tt.code, tt.err }}
			rec := record.NewFakeRecorder(10)
			m := newTestManager(t, Config{Exec: fe, Recorder: rec})
			c := corev1.Container{Name: "app"}
			spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}}
			res, err := m.probe(context.Background(), tt.kind, spec, testPod("", c), &c, "cid")
			if res != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("probe = %s %v, want %s (error %v)", res, err, tt.want, tt.wantErr)
			}
			if n := len(fe.callsOf("check")); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			var events []string
			for len(rec.Events) > 0 {
				events = append(events, <-rec.Events)
			}
			if tt.wantEvent == "" && len(events) != 0 || tt.wantEvent != "" && (len(events) != 1 || events[0] != tt.wantEvent) {
				t.Errorf("events = %q, want %q", events, tt.wantEvent)
			}
		})
	}

	t.Run("redirect warning", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://elsewhere.invalid/")
			w.WriteHeader(http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		rec := record.NewFakeRecorder(10)
		m := newTestManager(t, Config{Recorder: rec})
		c := corev1.Container{Name: "app"}
		spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(int32(serverPort(t, srv.URL)))}}}
		if res, err := m.probe(context.Background(), KindReadiness, spec, testPod("127.0.0.1", c), &c, "cid"); res != resultSuccess || err != nil {
			t.Fatalf("probe = %s %v, want success", res, err)
		}
		want := "Warning ProbeWarning Readiness probe warning: Probe terminated redirects, Response body: "
		if got := <-rec.Events; got != want {
			t.Errorf("event %q, want %q", got, want)
		}
	})
}

func TestResolvePort(t *testing.T) {
	t.Parallel()
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	tests := []struct {
		port    intstr.IntOrString
		want    int
		wantErr string
	}{
		{port: intstr.FromInt32(80), want: 80},
		{port: intstr.FromString("http"), want: 8080},
		{port: intstr.FromString("9090"), want: 9090},
		{port: intstr.FromString("nope"), wantErr: "invalid syntax"},
		{port: intstr.FromInt32(0), wantErr: "invalid port number: 0"},
		{port: intstr.FromInt32(65536), wantErr: "invalid port number: 65536"},
	}
	for _, tt := range tests {
		got, err := resolvePort(tt.port, c)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolvePort(%v) error = %v, want %q", tt.port.String(), err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolvePort(%v) = %d, %v; want %d", tt.port.String(), got, err, tt.want)
		}
	}
}

func TestExpandString(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"A": "a", "EMPTY": ""}
	tests := map[string]string{
		"plain":       "plain",
		"$(A)":        "a",
		"x$(A)y":      "xay",
		"$(EMPTY)":    "",
		"$$(A)":       "$(A)",
		"$$":          "$",
		"$(UNKNOWN)":  "$(UNKNOWN)",
		"$(A":         "$(A",
		"$(A $$":      "$(A $",
		"$A":          "$A",
		"cost $":      "cost $",
		"$(A)-$(A)":   "a-a",
		"$()":         "$()",
		"a $$$(A) $b": "a $a $b",
	}
	for in, want := range tests {
		if got := expandString(in, vars); got != want {
			t.Errorf("expandString(%q) = %q, want %q", in, got, want)
		}
	}
}
