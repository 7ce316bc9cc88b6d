package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

var authnTokenRequest = authenticationv1.TokenRequest{}

// get fetches path from the kubelet with the admin certificate.
func get(t *testing.T, path string) (int, string) {
	t.Helper()
	e := requireEnv(t)
	hc, err := rest.HTTPClientFor(e.adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(e.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthentication(t *testing.T) {
	e := requireEnv(t)
	bound := saToken(t, "kubelet-reader", true)
	unbound := saToken(t, "nobody", false)
	tests := []struct {
		name       string
		token      string
		admin      bool
		path       string
		wantStatus int
		wantBody   string
	}{
		{"no credentials", "", false, "/healthz", http.StatusUnauthorized, "Unauthorized"},
		{"bad token", "not-a-token", false, "/pods", http.StatusUnauthorized, "Unauthorized"},
		{"unbound user on pods", unbound, false, "/pods", http.StatusForbidden,
			"Forbidden (user=system:serviceaccount:default:nobody, verb=get, resource=nodes, subresource(s)=[pods proxy])\n"},
		{"unbound user on stats", unbound, false, "/stats/summary", http.StatusForbidden,
			"Forbidden (user=system:serviceaccount:default:nobody, verb=get, resource=nodes, subresource(s)=[stats])\n"},
		{"bound user", bound, false, "/healthz", http.StatusOK, "ok"},
		{"bound user pods", bound, false, "/pods", http.StatusOK, `"kind":"PodList"`},
		{"admin certificate", "", true, "/healthz", http.StatusOK, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hc := insecureClient()
			if tc.admin {
				var err error
				if hc, err = rest.HTTPClientFor(e.adminCfg); err != nil {
					t.Fatal(err)
				}
			}
			req, _ := http.NewRequest(http.MethodGet, e.url+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(b), tc.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, b, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// execURL is the kubelet's exec (or attach) URL for a container.
func execURL(base, kind string, pod *corev1.Pod, container string, cmd []string, stdin, tty bool) *url.URL {
	u, _ := url.Parse(fmt.Sprintf("%s/%s/%s/%s/%s", base, kind, pod.Namespace, pod.Name, container))
	q := url.Values{}
	for _, c := range cmd {
		q.Add("command", c)
	}
	q.Set("output", "1")
	if !tty {
		q.Set("error", "1")
	}
	if stdin {
		q.Set("input", "1")
	}
	if tty {
		q.Set("tty", "1")
	}
	u.RawQuery = q.Encode()
	return u
}

func newExecutor(t *testing.T, cfg *rest.Config, protocol string, u *url.URL) remotecommand.Executor {
	t.Helper()
	var ex remotecommand.Executor
	var err error
	if protocol == "websocket" {
		ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	} else {
		ex, err = remotecommand.NewSPDYExecutor(cfg, "POST", u)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

type fixedSize struct{ sent bool }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	if f.sent {
		select {} // no more changes; the stream ends the goroutine's use
	}
	f.sent = true
	return &remotecommand.TerminalSize{Width: 100, Height: 40}
}

func exitCode(err error) (int, bool) {
	var ec interface{ ExitStatus() int }
	if errors.As(err, &ec) {
		return ec.ExitStatus(), true
	}
	return 0, false
}

func TestExec(t *testing.T) {
	e := requireEnv(t)
	pod := newPod("exec", "exec sleep 3600")
	runPod(t, pod)
	tests := []struct {
		name       string
		cmd        []string
		stdin      string
		tty        bool
		wantOut    string
		wantErrOut string
		wantCode   int
	}{
		{name: "stdin to stdout", cmd: []string{"cat"}, stdin: "hello exec\n", wantOut: "hello exec\n"},
		{name: "stderr and exit code", cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, wantOut: "out\n", wantErrOut: "err\n", wantCode: 3},
		{name: "tty with resize", tty: true, wantOut: "size=40 100",
			cmd: []string{"sh", "-c", `tty; for i in $(seq 100); do s=$(stty size); [ "$s" = "40 100" ] && break; sleep 0.05; done; echo size=$s`}},
	}
	for _, protocol := range []string{"spdy", "websocket"} {
		for _, tc := range tests {
			t.Run(protocol+"/"+tc.name, func(t *testing.T) {
				u := execURL(e.url, "exec", pod, "app0", tc.cmd, tc.stdin != "", tc.tty)
				ex := newExecutor(t, e.adminCfg, protocol, u)
				var stdout, stderr bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &stdout, Tty: tc.tty}
				if !tc.tty {
					opts.Stderr = &stderr
				}
				if tc.stdin != "" {
					opts.Stdin = strings.NewReader(tc.stdin)
				}
				if tc.tty {
					opts.TerminalSizeQueue = &fixedSize{}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				err := ex.StreamWithContext(ctx, opts)
				code, isExit := exitCode(err)
				switch {
				case tc.wantCode == 0 && err != nil:
					t.Fatalf("exec: %v (stdout %q stderr %q)", err, stdout.String(), stderr.String())
				case tc.wantCode != 0 && (!isExit || code != tc.wantCode):
					t.Fatalf("exec error = %v (exit %d, %v), want exit code %d", err, code, isExit, tc.wantCode)
				}
				if !strings.Contains(stdout.String(), tc.wantOut) || (!tc.tty && stdout.String() != tc.wantOut) {
					t.Errorf("stdout = %q, want %q", stdout.String(), tc.wantOut)
				}
				if stderr.String() != tc.wantErrOut {
					t.Errorf("stderr = %q, want %q", stderr.String(), tc.wantErrOut)
				}
				if tc.tty && !strings.Contains(stdout.String(), "/dev/pts/") {
					t.Errorf("tty output %q has no /dev/pts", stdout.String())
				}
			})
		}
	}
	t.Run("unknown container", func(t *testing.T) {
		ex := newExecutor(t, e.adminCfg, "spdy", execURL(e.url, "exec", pod, "nope", []string{"true"}, false, false))
		err := ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), `container not found ("nope")`) {
			t.Errorf("exec in unknown container: %v", err)
		}
	})
}

func TestExecSync(t *testing.T) {
	e := requireEnv(t)
	pod := newPod("execsync", "exec sleep 3600")
	runPod(t, pod)
	sts, err := e.rt.ListPodContainers(context.Background(), pod.UID)
	if err != nil || len(sts) != 1 {
		t.Fatalf("containers: %v %v", sts, err)
	}
	id := sts[0].ID
	tests := []struct {
		name           string
		cmd            []string
		timeout        time.Duration
		out, errOut    string
		code           int
		wantErrTimeout bool
	}{
		{name: "output", cmd: []string{"sh", "-c", "echo a; echo b >&2"}, out: "a\n", errOut: "b\n"},
		{name: "exit code", cmd: []string{"sh", "-c", "exit 7"}, code: 7},
		{name: "env from the container", cmd: []string{"sh", "-c", "echo $PATH"}, out: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"},
		{name: "timeout", cmd: []string{"sleep", "30"}, timeout: 300 * time.Millisecond, code: -1, wantErrTimeout: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code, err := e.rt.ExecSync(context.Background(), id, tc.cmd, tc.timeout)
			if tc.wantErrTimeout {
				if !errors.Is(err, runtime.ErrExecTimeout) {
					t.Fatalf("err = %v, want timeout", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.out || string(errOut) != tc.errOut || code != tc.code {
				t.Errorf("ExecSync = %q %q %d, want %q %q %d", out, errOut, code, tc.out, tc.errOut, tc.code)
			}
		})
	}
}

func TestAttach(t *testing.T) {
	e := requireEnv(t)
	pod := newPod("attach", `i=0; while true; do i=$((i+1)); echo tick-$i; echo tock-$i >&2; sleep 0.1; done`)
	runPod(t, pod)
	for _, protocol := range []string{"spdy", "websocket"} {
		t.Run(protocol, func(t *testing.T) {
			u := execURL(e.url, "attach", pod, "app0", nil, false, false)
			ex := newExecutor(t, e.adminCfg, protocol, u)
			out, errOut := &syncBuffer{}, &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: out, Stderr: errOut}) }()
			eventually(t, 20*time.Second, "attached output", func() (bool, string) {
				return strings.Contains(out.String(), "tick-") && strings.Contains(errOut.String(), "tock-"), out.String() + "|" + errOut.String()
			})
			cancel()
			<-done
			if strings.Contains(out.String(), "tock") || strings.Contains(errOut.String(), "tick") {
				t.Errorf("streams mixed: %q %q", out.String(), errOut.String())
			}
			// Only new output: the first lines were written before attaching.
			if strings.Contains(out.String(), "tick-1\n") && !strings.HasPrefix(out.String(), "tick-1\n") {
				t.Errorf("unexpected output %q", out.String())
			}
		})
	}
}

// sizeQueue hands out terminal sizes to the remote command client.
type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	sz, ok := <-q
	if !ok {
		return nil
	}
	return &sz
}

// TestAttachStdinTTY attaches to a container with stdin and a terminal:
// input reaches its shell, output comes back raw (the prompt has no
// newline) and a resize reaches its terminal, over both protocols.
func TestAttachStdinTTY(t *testing.T) {
	e := requireEnv(t)
	pod := newPod("attach-tty", `exec sh -i`)
	c := &pod.Spec.Containers[0]
	c.Stdin, c.TTY = true, true
	runPod(t, pod)
	for i, protocol := range []string{"spdy", "websocket"} {
		t.Run(protocol, func(t *testing.T) {
			u := execURL(e.url, "attach", pod, "app0", nil, true, true)
			ex := newExecutor(t, e.adminCfg, protocol, u)
			out := &syncBuffer{}
			inR, inW := io.Pipe()
			sizes := make(sizeQueue, 2)
			rows := uint16(30 + i)
			sizes <- remotecommand.TerminalSize{Width: 90, Height: rows}
			done := make(chan error, 1)
			go func() {
				done <- ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: inR, Stdout: out, Tty: true, TerminalSizeQueue: sizes})
			}()
			want := fmt.Sprintf("size-is-%d 90", rows)
			eventually(t, 20*time.Second, "resized terminal answers", func() (bool, string) {
				_, _ = io.WriteString(inW, "echo size-is-$(stty size)\n")
				return strings.Contains(out.String(), want), out.String()
			})
			if !strings.Contains(out.String(), "# ") {
				t.Errorf("no prompt in the raw output %q", out.String())
			}
			// Closing stdin detaches (no stdinOnce): the shell keeps running.
			inW.Close()
			close(sizes)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("attach: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("attach did not end after stdin closed")
			}
			sts, err := e.rt.ListPodContainers(context.Background(), pod.UID)
			if err != nil || len(sts) != 1 || sts[0].State != runtime.ContainerRunning {
				t.Fatalf("after detach: %v %v", sts, err)
			}
		})
	}
}

func TestPortForward(t *testing.T) {
	e := requireEnv(t)
	pod := newPod("pf", `mkdir -p /www && echo hello-portforward > /www/index.html && exec httpd -f -p 8080 -h /www`)
	runPod(t, pod)
	waitServing(t, pod, 8080)
	u, _ := url.Parse(fmt.Sprintf("%s/portForward/%s/%s", e.url, pod.Namespace, pod.Name))
	for _, protocol := range []string{"spdy", "websocket-tunnel"} {
		t.Run(protocol, func(t *testing.T) {
			var dialer httpstream.Dialer
			if protocol == "spdy" {
				tr, up, err := spdy.RoundTripperFor(e.adminCfg)
				if err != nil {
					t.Fatal(err)
				}
				dialer = spdy.NewDialer(up, &http.Client{Transport: tr}, "POST", u)
			} else {
				var err error
				if dialer, err = portforward.NewSPDYOverWebsocketDialer(u, e.adminCfg); err != nil {
					t.Fatal(err)
				}
			}
			body := forwardAndGet(t, dialer, 8080)
			if body != "hello-portforward\n" {
				t.Errorf("body through port-forward = %q", body)
			}
		})
	}
}

// waitServing waits until the pod's first container answers HTTP on port
// (a forward to a port nobody listens on yet ends the client's forwarder).
func waitServing(t *testing.T, pod *corev1.Pod, port int) {
	t.Helper()
	e := requireEnv(t)
	sts, err := e.rt.ListPodContainers(context.Background(), pod.UID)
	if err != nil || len(sts) == 0 {
		t.Fatalf("containers: %v %v", sts, err)
	}
	eventually(t, 20*time.Second, "server in the pod", func() (bool, string) {
		out, errOut, code, err := e.rt.ExecSync(context.Background(), sts[0].ID, []string{"wget", "-q", "-O-", fmt.Sprintf("http://127.0.0.1:%d/", port)}, 10*time.Second)
		return err == nil && code == 0, fmt.Sprintf("%q %q %d %v", out, errOut, code, err)
	})
}

// forwardAndGet forwards a local port to port through dialer and GETs / a
// few times (each GET is a new forwarded connection).
func forwardAndGet(t *testing.T, dialer httpstream.Dialer, port int) string {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	var out, errOut syncBuffer
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	finished := false
	defer func() {
		close(stop)
		if !finished {
			<-done
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		finished = true
		t.Fatalf("port forward: %v (%s)", err, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("port forward not ready")
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("ports: %v %v", ports, err)
	}
	getOnce := func() (string, error) {
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	// The server in the pod may still be starting: poll until it answers.
	var body string
	eventually(t, 20*time.Second, "GET through the forward", func() (bool, string) {
		b, err := getOnce()
		body = b
		return err == nil, fmt.Sprint(err)
	})
	// Each further GET is a new forwarded connection.
	for i := 0; i < 2; i++ {
		b, err := getOnce()
		if err != nil {
			t.Fatalf("GET through forward #%d: %v (%s)", i, err, errOut.String())
		}
		body = b
	}
	return body
}

func TestContainerLogs(t *testing.T) {
	e := requireEnv(t)
	pod := newPod("logs", `for i in 1 2 3 4 5; do echo line-$i; done; i=0; while true; do i=$((i+1)); echo live-$i; sleep 0.1; done`)
	runPod(t, pod)
	base := fmt.Sprintf("/containerLogs/%s/%s/app0", pod.Namespace, pod.Name)
	eventually(t, 20*time.Second, "live lines", func() (bool, string) {
		_, b := get(t, base)
		return strings.Contains(b, "live-3\n"), b
	})
	ts := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line-1$`)
	tests := []struct {
		name       string
		query      string
		wantStatus int
		check      func(body string) bool
	}{
		{"all", "", 200, func(b string) bool {
			return strings.HasPrefix(b, "line-1\nline-2\nline-3\nline-4\nline-5\nlive-1\n")
		}},
		{"tail", "?tailLines=2", 200, func(b string) bool { return strings.Count(b, "\n") == 2 && strings.HasPrefix(b, "live-") }},
		{"tail zero", "?tailLines=0", 200, func(b string) bool { return b == "" }},
		{"legacy tail all", "?tail=all", 200, func(b string) bool { return strings.HasPrefix(b, "line-1\n") }},
		{"timestamps", "?timestamps=true&limitBytes=200", 200, func(b string) bool { return ts.MatchString(strings.SplitN(b, "\n", 2)[0]) }},
		{"limit bytes", "?limitBytes=9", 200, func(b string) bool { return b == "line-1\nli" }},
		{"since the future", "?sinceTime=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), 200, func(b string) bool { return b == "" }},
		{"since seconds", "?sinceSeconds=3600", 200, func(b string) bool { return strings.HasPrefix(b, "line-1\n") }},
		{"no previous", "?previous=true", 400, func(b string) bool { return b == `previous terminated container "app0" in pod "logs" not found` }},
		{"bad number", "?tailLines=x", 400, func(b string) bool { return b == `{"message": "Unable to decode query."}` }},
		{"invalid", "?limitBytes=0", 422, func(b string) bool { return b == `{"message": "Invalid request."}` }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, base+tc.query)
			if code != tc.wantStatus || !tc.check(body) {
				t.Errorf("GET %s = %d %q", tc.query, code, body)
			}
		})
	}
	t.Run("unknown pod and container", func(t *testing.T) {
		if code, body := get(t, "/containerLogs/default/nope/app0"); code != 404 || body != `pod "nope" does not exist` {
			t.Errorf("unknown pod: %d %q", code, body)
		}
		if code, body := get(t, fmt.Sprintf("/containerLogs/default/%s/nope", pod.Name)); code != 404 || body != `container "nope" not found in pod "logs"` {
			t.Errorf("unknown container: %d %q", code, body)
		}
	})
	t.Run("follow", func(t *testing.T) {
		hc, _ := rest.HTTPClientFor(e.adminCfg)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+base+"?follow=true&tailLines=1", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Lines keep arriving on the open response.
		var seen syncBuffer
		go func() { _, _ = io.Copy(&seen, resp.Body) }()
		eventually(t, 20*time.Second, "followed lines", func() (bool, string) {
			return strings.Count(seen.String(), "\n") >= 5, seen.String()
		})
	})
}

func TestPreviousLogs(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	pod := newPod("prev", `echo first-attempt; exit 1`)
	sb := runPod(t, pod)
	sts, err := e.rt.ListPodContainers(ctx, pod.UID)
	if err != nil || len(sts) != 1 {
		t.Fatalf("containers: %v %v", sts, err)
	}
	if _, err := e.rt.WaitContainer(ctx, sts[0].ID); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/containerLogs/%s/%s/app0", pod.Namespace, pod.Name)
	// Following an exited container's log ends.
	if code, body := get(t, base+"?follow=true"); code != 200 || body != "first-attempt\n" {
		t.Fatalf("follow exited = %d %q", code, body)
	}
	c := pod.Spec.Containers[0]
	c.Command = []string{"sh", "-c", "echo second-attempt; exec sleep 3600"}
	id, err := e.rt.CreateContainer(ctx, sb, pod, &c, runtime.CreateOptions{RestartCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "second attempt log", func() (bool, string) {
		_, b := get(t, base)
		return b == "second-attempt\n", b
	})
	if code, body := get(t, base+"?previous=true"); code != 200 || body != "first-attempt\n" {
		t.Errorf("previous = %d %q", code, body)
	}
}

func TestStatsAndMetrics(t *testing.T) {
	requireEnv(t)
	pod := newPod("stats", `while true; do seq 3000 >/dev/null; sleep 0.1; done`)
	runPod(t, pod)
	var ps *statsapi.PodStats
	eventually(t, 30*time.Second, "pod stats with CPU rate", func() (bool, string) {
		code, body := get(t, "/stats/summary")
		if code != 200 {
			return false, body
		}
		var sum statsapi.Summary
		if err := json.Unmarshal([]byte(body), &sum); err != nil {
			return false, err.Error()
		}
		if sum.Node.NodeName != testNodeName || sum.Node.CPU == nil || sum.Node.CPU.UsageCoreNanoSeconds == nil || *sum.Node.CPU.UsageCoreNanoSeconds == 0 ||
			sum.Node.Memory == nil || *sum.Node.Memory.WorkingSetBytes == 0 || *sum.Node.Memory.AvailableBytes == 0 {
			return false, "node stats incomplete: " + body
		}
		for i := range sum.Pods {
			if sum.Pods[i].PodRef.UID == string(pod.UID) {
				ps = &sum.Pods[i]
			}
		}
		if ps == nil || len(ps.Containers) != 1 || ps.CPU.UsageNanoCores == nil || ps.Containers[0].CPU.UsageNanoCores == nil {
			return false, body
		}
		return *ps.CPU.UsageCoreNanoSeconds > 0 && *ps.Memory.WorkingSetBytes > 0 && *ps.CPU.UsageNanoCores > 0 &&
			*ps.Containers[0].CPU.UsageCoreNanoSeconds > 0 && *ps.Containers[0].Memory.WorkingSetBytes > 0, body
	})
	if ps.Containers[0].Name != "app0" || ps.PodRef.Name != "stats" || ps.PodRef.Namespace != "default" {
		t.Errorf("pod stats = %+v", ps)
	}

	code, body := get(t, "/metrics/resource")
	if code != 200 {
		t.Fatalf("/metrics/resource = %d %s", code, body)
	}
	for _, re := range []string{
		`(?m)^node_cpu_usage_seconds_total [0-9.e+]+ \d+$`,
		`(?m)^node_memory_working_set_bytes [0-9.e+]+ \d+$`,
		`(?m)^container_cpu_usage_seconds_total\{container="app0",namespace="default",pod="stats"\} [0-9.e+-]+ \d+$`,
		`(?m)^container_memory_working_set_bytes\{container="app0",namespace="default",pod="stats"\} [1-9][0-9.e+]* \d+$`,
		`(?m)^container_start_time_seconds\{container="app0",namespace="default",pod="stats"\} `,
		`(?m)^pod_cpu_usage_seconds_total\{namespace="default",pod="stats"\} `,
		`(?m)^pod_memory_working_set_bytes\{namespace="default",pod="stats"\} [1-9]`,
		`(?m)^scrape_error 0$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics/resource lacks %s:\n%s", re, body)
		}
	}
	code, body = get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, re := range []string{
		`(?m)^kubelet_http_requests_total\{long_running="false",method="GET",path="stats",server_type="readwrite"\} [1-9]`,
		`(?m)^kubelet_running_pods [1-9]`,
		`(?m)^kubelet_running_containers\{container_state="running"\} [1-9]`,
		`(?m)^kubelet_http_requests_duration_seconds_bucket\{`,
		`(?m)^process_resident_memory_bytes `,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
}

// TestThroughAPIServer goes the way stock clients do: the API server's
// pods/log, pods/exec and pods/portforward, proxied to this kubelet by the
// node's status addresses and kubelet endpoint. (nodes/proxy refuses
// loopback node addresses, so it is not covered here.)
func TestThroughAPIServer(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	port := e.srv.Addr().(*net.TCPAddr).Port
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: testNodeName}}
	node, err := e.admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if node, err = e.admin.CoreV1().Nodes().Get(ctx, testNodeName, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := e.admin.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	spec := newPod("via-api", `echo via-api-log; mkdir -p /www && echo via-api-pf > /www/index.html && exec httpd -f -p 8081 -h /www`)
	spec.Spec.NodeName = testNodeName
	spec.Spec.AutomountServiceAccountToken = new(bool) // the runtime has no projected volumes
	apiPod, err := e.admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: "default"}, Spec: spec.Spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.admin.CoreV1().Pods("default").Delete(context.Background(), apiPod.Name, *metav1.NewDeleteOptions(0))
	})
	runPod(t, apiPod)
	waitServing(t, apiPod, 8081)

	t.Run("logs", func(t *testing.T) {
		eventually(t, 20*time.Second, "logs via API server", func() (bool, string) {
			b, err := e.admin.CoreV1().Pods("default").GetLogs(apiPod.Name, &corev1.PodLogOptions{Container: "app0"}).DoRaw(ctx)
			return err == nil && string(b) == "via-api-log\n", fmt.Sprintf("%q %v", b, err)
		})
	})
	for _, protocol := range []string{"spdy", "websocket"} {
		t.Run("exec/"+protocol, func(t *testing.T) {
			u := e.admin.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(apiPod.Name).SubResource("exec").
				VersionedParams(&corev1.PodExecOptions{Container: "app0", Command: []string{"sh", "-c", "cat; echo done; exit 5"}, Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
			ex := newExecutor(t, e.api.Config, protocol, u)
			var out, errOut bytes.Buffer
			err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("in\n"), Stdout: &out, Stderr: &errOut})
			if code, ok := exitCode(err); !ok || code != 5 {
				t.Fatalf("exec via API server: %v (stderr %q)", err, errOut.String())
			}
			if out.String() != "in\ndone\n" {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
	t.Run("portforward", func(t *testing.T) {
		u := e.admin.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(apiPod.Name).SubResource("portforward").URL()
		tr, up, err := spdy.RoundTripperFor(e.api.Config)
		if err != nil {
			t.Fatal(err)
		}
		if body := forwardAndGet(t, spdy.NewDialer(up, &http.Client{Transport: tr}, "POST", u), 8081); body != "via-api-pf\n" {
			t.Errorf("body = %q", body)
		}
	})
}

// syncBuffer is a bytes.Buffer for a writer and a concurrent reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
