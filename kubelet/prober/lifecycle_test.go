package prober

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
)

func TestRunHandlerExec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		stdout, stderr string
		code           int
		err            error
		wantMsg        string
		wantErr        string
	}{
		{name: "success", stdout: "done"},
		{
			name: "non-zero exit", stdout: "out", stderr: "bad thing", code: 3,
			wantErr: "command 'sh -c exit 3' exited with 3: bad thing",
			wantMsg: `Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod "web_ns(uid-1)" failed - error: command 'sh -c exit 3' exited with 3: bad thing, message: "outbad thing"`,
		},
		{
			name: "exec error", err: errors.New("container is not running"),
			wantErr: "container is not running",
			wantMsg: `Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod "web_ns(uid-1)" failed - error: container is not running, message: ""`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := &fakeExec{respond: func([]string, int) (string, string, int, error) { return tt.stdout, tt.stderr, tt.code, tt.err }}
			m := newTestManager(t, Config{Exec: fe})
			c := corev1.Container{Name: "app"}
			h := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "exit 3"}}}
			msg, err := m.RunHandler(context.Background(), testPod("", c), &c, "cid-9", h)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if msg != tt.wantMsg {
				t.Errorf("msg = %q\nwant  %q", msg, tt.wantMsg)
			}
			calls := fe.callsOf("sh")
			if len(calls) != 1 || calls[0].containerID != "cid-9" || calls[0].timeout != 0 {
				t.Errorf("calls = %+v, want one in cid-9 without a timeout", calls)
			}
		})
	}
}

func TestRunHandlerHTTPGet(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.UserAgent())
		mu.Unlock()
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	port := serverPort(t, srv.URL)
	closed := closedPort(t)
	c := corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	tests := []struct {
		name     string
		action   corev1.HTTPGetAction
		podIP    string
		wantMsg  string
		wantPath string
	}{
		{name: "success", action: corev1.HTTPGetAction{Path: "/hook", Port: intstr.FromString("web")}, podIP: "127.0.0.1", wantPath: "/hook kube-lifecycle/1.37"},
		// As upstream, the status code of a hook's response is not checked.
		{name: "status 500 is no error", action: corev1.HTTPGetAction{Path: "/error", Port: intstr.FromInt32(int32(port))}, podIP: "127.0.0.1", wantPath: "/error kube-lifecycle/1.37"},
		{
			name: "connection refused", action: corev1.HTTPGetAction{Path: "/stop", Port: intstr.FromInt32(int32(closed))}, podIP: "127.0.0.1",
			wantMsg: `HTTP lifecycle hook (/stop) for Container "app" in Pod "web_ns(uid-1)" failed - error: Get "http://127.0.0.1:`,
		},
		{
			name: "no pod IP", action: corev1.HTTPGetAction{Path: "/stop", Port: intstr.FromInt32(int32(port))},
			wantMsg: `HTTP lifecycle hook (/stop) for Container "app" in Pod "web_ns(uid-1)" failed - error: failed to find networking container`,
		},
	}
	m := newTestManager(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			h := &corev1.LifecycleHandler{HTTPGet: &tt.action}
			msg, err := m.RunHandler(context.Background(), testPod(tt.podIP, c), &c, "cid", h)
			if (tt.wantMsg != "") != (err != nil) || !strings.HasPrefix(msg, tt.wantMsg) {
				t.Errorf("RunHandler = %q, %v; want message starting %q", msg, err, tt.wantMsg)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.wantPath != "" && (len(got) != 1 || got[0] != tt.wantPath) {
				t.Errorf("requests = %q, want %q", got, tt.wantPath)
			}
		})
	}

	t.Run("https answered in http falls back", func(t *testing.T) {
		rec := record.NewFakeRecorder(10)
		m := newTestManager(t, Config{Recorder: rec})
		action := &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS, Path: "/tls", Port: intstr.FromInt32(int32(port))}
		msg, err := m.RunHandler(context.Background(), testPod("127.0.0.1", c), &c, "cid", &corev1.LifecycleHandler{HTTPGet: action})
		if err != nil || msg != "" {
			t.Fatalf("RunHandler = %q, %v; want success over http", msg, err)
		}
		want := fmt.Sprintf("Warning LifecycleHTTPFallback request to HTTPS lifecycle hook 127.0.0.1:%d got HTTP response, retry with HTTP succeeded", port)
		select {
		case e := <-rec.Events:
			if e != want {
				t.Errorf("event %q, want %q", e, want)
			}
		default:
			t.Errorf("no fallback event")
		}
	})
}

func TestRunHandlerSleep(t *testing.T) {
	t.Parallel()
	fc := testingclock.NewFakeClock(time.Now())
	m := newTestManager(t, Config{Clock: fc})
	c := corev1.Container{Name: "app"}
	pod := testPod("", c)
	run := func(ctx context.Context, seconds int64) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := m.RunHandler(ctx, pod, &c, "cid", &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: seconds}})
			done <- err
		}()
		return done
	}
	waitTimer := func() {
		t.Helper()
		if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return fc.HasWaiters(), nil
		}); err != nil {
			t.Fatalf("the sleep hook set no timer: %v", err)
		}
	}

	t.Run("sleeps the given seconds", func(t *testing.T) {
		done := run(context.Background(), 5)
		waitTimer()
		fc.Step(4 * time.Second)
		select {
		case err := <-done:
			t.Fatalf("returned after 4 of 5 seconds: %v", err)
		default:
		}
		fc.Step(time.Second)
		if err := <-done; err != nil {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("zero seconds", func(t *testing.T) {
		if err := <-run(context.Background(), 0); err != nil {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("container terminated first", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := run(ctx, 30)
		waitTimer()
		cancel()
		err := <-done
		if err == nil || err.Error() != "container terminated before sleep hook finished" {
			t.Errorf("err = %v", err)
		}
		msg, _ := m.RunHandler(ctx, pod, &c, "cid", &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 30}})
		want := `Sleep lifecycle hook (30) for Container "app" in Pod "web_ns(uid-1)" failed - error: container terminated before sleep hook finished`
		if msg != want {
			t.Errorf("msg = %q, want %q", msg, want)
		}
	})
}

func TestRunHandlerTCPSocketIsInvalid(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Config{})
	c := corev1.Container{Name: "app"}
	h := &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}
	msg, err := m.RunHandler(context.Background(), testPod("127.0.0.1", c), &c, "cid", h)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid handler: ") || !strings.HasPrefix(msg, "Cannot run handler: invalid handler: ") {
		t.Errorf("RunHandler = %q, %v; want an invalid handler", msg, err)
	}
}
