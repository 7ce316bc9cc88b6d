//go:build linux

package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// skiffBinary is $SKIFF_BINARY (hack/test.sh builds it, as for test/e2e),
// else a fresh `go build` of ./cmd/skiff (never a possibly stale bin/skiff).
func skiffBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("SKIFF_BINARY"); b != "" {
		return b
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "skiff")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/skiff")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/skiff: %v\n%s", err, b)
	}
	return out
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestProxyRestartUnderLoad runs the real `skiff proxy` binary against a
// real API server while a client in the test cgroup opens a connection to a
// ClusterIP every 5ms, SIGKILLs the proxy and starts it again twice, and
// requires every connection to succeed: the pinned maps and links keep
// the datapath working while no proxy runs, and a restarted proxy adopts
// them (atomic program replacement, no empty-map window).
func TestProxyRestartUnderLoad(t *testing.T) {
	requirePrivileges(t)
	bin := skiffBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatalf("start API server: %v", err)
	}
	t.Cleanup(func() {
		if err := ts.Stop(); err != nil {
			t.Errorf("stop API server: %v", err)
		}
	})
	kc := ts.Client()
	cgroup, cgFD := testCgroup(t)
	pinDir := testPinDir(t)
	c := startClient(t, cgFD)
	b1, b2 := c.backends[0], c.backends[1]

	const ns = "restart-test"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := kc.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
			TargetPort: intstr.FromInt32(int32(b1.Port()))}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vip := netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), 80)
	if _, err := kc.DiscoveryV1().EndpointSlices(ns).Create(ctx, endpointSlice(ns, "web-a", "web", b1, b1, b2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	healthz := freePort(t)
	var proc *exec.Cmd
	start := func() {
		t.Helper()
		proc = exec.Command(bin, "proxy", "--kubeconfig", ts.KubeconfigPath, "--hostname-override", "node-a",
			"--bpf-pin-dir", pinDir, "--cgroup-path", cgroup, "--maglev-table-size", "1021",
			"--healthz-bind-address", healthz, "--metrics-bind-address", "", "-v", "1")
		logf, err := os.Create(filepath.Join(t.TempDir(), "proxy.log"))
		if err != nil {
			t.Fatal(err)
		}
		proc.Stdout, proc.Stderr = logf, logf
		if err := proc.Start(); err != nil {
			t.Fatalf("start %s proxy: %v", bin, err)
		}
		p := proc
		t.Cleanup(func() {
			p.Process.Kill()
			p.Wait()
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("proxy log %s:\n%s", logf.Name(), b)
			}
		})
		eventually(t, "proxy healthy", func() (bool, string) {
			resp, err := http.Get("http://" + healthz + "/healthz")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		})
	}
	kill := func() {
		t.Helper()
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		proc.Wait()
	}
	t.Cleanup(func() {
		if err := Cleanup(Config{PinDir: pinDir, CgroupPath: cgroup, MaglevTableSize: 1021}); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})

	start()
	eventually(t, "VIP reachable", func() (bool, string) {
		r := c.dial(vip.String())
		return r.Err == "", fmt.Sprintf("%+v", r)
	})

	// The load: one connection every 5ms from the client in the cgroup.
	var (
		mu       sync.Mutex
		ok, fail int
		errs     []string
		seen     = map[string]int{}
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			r := c.dial(vip.String())
			mu.Lock()
			if r.Err != "" || r.Peer != vip.String() {
				fail++
				if len(errs) < 10 {
					errs = append(errs, fmt.Sprintf("%s: %+v", time.Now().Format(time.StampMicro), r))
				}
			} else {
				ok++
				seen[r.Backend]++
			}
			mu.Unlock()
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return ok + fail }
	waitFor := func(n int) {
		t.Helper()
		eventually(t, "more connections", func() (bool, string) { return count() >= n, fmt.Sprint(count()) })
	}

	for i := range 2 {
		waitFor(count() + 100)
		kill()
		t.Logf("cycle %d: proxy SIGKILLed after %d connections", i, count())
		waitFor(count() + 100) // no proxy at all
		start()
		t.Logf("cycle %d: proxy restarted and healthy after %d connections", i, count())
	}
	waitFor(count() + 100)
	stopLoad()
	<-loadDone

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d connections, %d failed, backends %v", ok+fail, fail, seen)
	if fail != 0 {
		t.Errorf("%d of %d connections failed across restarts: %v", fail, ok+fail, errs)
	}
	if seen[b1.String()] == 0 || seen[b2.String()] == 0 {
		t.Errorf("connections did not reach both backends: %v", seen)
	}
}
