//go:build linux

package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// The test attaches the hooks to a cgroup of its own and dials from a
// re-executed copy of the test binary placed in it, so nothing else on the
// machine is translated. That client runs in a network namespace of its own
// holding only lo, with the backends (on 10.244.0.7 and .8, as the API
// rejects loopback endpoints) listening in it too: the hooks follow the
// cgroup, not the namespace, and a ClusterIP from the test server's range
// (10.0.0.0/24) is unreachable there unless translated.
const (
	cgroup2Root = DefaultCgroupPath
	clientEnv   = "SKIFF_PROXY_TEST_CLIENT"
)

var backendIPs = []string{"10.244.0.7", "10.244.0.8"}

func TestMain(m *testing.M) {
	if os.Getenv(clientEnv) != "" {
		os.Exit(runClient(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// dialResult is what the client reports for one connection attempt.
type dialResult struct {
	// Backend is the first line the server sent: its own address.
	Backend string `json:"backend,omitempty"`
	// Peer is the remote address the socket reports (getpeername).
	Peer string `json:"peer,omitempty"`
	Err  string `json:"err,omitempty"`
	// Backends, in the first line only, are the listeners' addresses.
	Backends []string `json:"backends,omitempty"`
}

// runClient sets up its namespace and backends, reports them, then reads
// one address per line and answers one dialResult each.
func runClient(in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	backends, err := startBackends()
	if err != nil {
		enc.Encode(dialResult{Err: err.Error()})
		return 1
	}
	enc.Encode(dialResult{Backends: backends})
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var res dialResult
		c, err := net.DialTimeout("tcp", sc.Text(), 2*time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			var line string
			line, err = bufio.NewReader(c).ReadString('\n')
			res.Backend, res.Peer = strings.TrimSpace(line), c.RemoteAddr().String()
			c.Close()
		}
		if err != nil {
			res.Err = errName(err)
		}
		enc.Encode(res)
	}
	return 0
}

// startBackends brings lo up with the backend addresses and listens on
// them, on one port, each sending every connection its own address.
func startBackends() ([]string, error) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return nil, err
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return nil, fmt.Errorf("set lo up: %w", err)
	}
	var out []string
	port := 0
	for _, ip := range backendIPs {
		addr, err := netlink.ParseAddr(ip + "/32")
		if err != nil {
			return nil, err
		}
		if err := netlink.AddrAdd(lo, addr); err != nil {
			return nil, fmt.Errorf("add %s to lo: %w", ip, err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			return nil, err
		}
		self := l.Addr().(*net.TCPAddr).AddrPort()
		port = int(self.Port())
		out = append(out, self.String())
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s\n", self)
				c.Close()
			}
		}()
	}
	return out, nil
}

func errName(err error) string {
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EPERM, syscall.ENETUNREACH, syscall.EHOSTUNREACH} {
		if errors.Is(err, e) {
			return unix.ErrnoName(e)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

type client struct {
	t   *testing.T
	in  io.Writer
	out *bufio.Scanner
	// backends are the listeners in the client's namespace.
	backends []netip.AddrPort
}

// startClient runs the client process inside the cgroup cg.
func startClient(t *testing.T, cg *os.File) *client {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), clientEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Cloneflags: syscall.CLONE_NEWNET}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("client: %v", err)
		}
	})
	c := &client{t: t, in: in, out: bufio.NewScanner(out)}
	first := c.read()
	if first.Err != "" || len(first.Backends) != len(backendIPs) {
		t.Fatalf("client setup: %+v", first)
	}
	for _, b := range first.Backends {
		c.backends = append(c.backends, netip.MustParseAddrPort(b))
	}
	return c
}

func (c *client) dial(addr string) dialResult {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.in, addr); err != nil {
		c.t.Fatalf("send to client: %v", err)
	}
	return c.read()
}

func (c *client) read() dialResult {
	c.t.Helper()
	if !c.out.Scan() {
		c.t.Fatalf("client ended: %v", c.out.Err())
	}
	var r dialResult
	if err := json.Unmarshal(c.out.Bytes(), &r); err != nil {
		c.t.Fatalf("client reply %q: %v", c.out.Text(), err)
	}
	return r
}

// eventually polls cond until it holds or 30s pass; cond describes what it
// saw for the failure message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) {
			ok, got := cond()
			last = got
			return ok, nil
		})
	if err != nil {
		t.Fatalf("%s: still %s", what, last)
	}
}

func requirePrivileges(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for BPF, bpffs and cgroups")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroup2Root, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skipf("no cgroup2 at %s", cgroup2Root)
	}
}

// testCgroup makes a child cgroup and removes it at the end.
func testCgroup(t *testing.T) (string, *os.File) {
	t.Helper()
	dir, err := os.MkdirTemp(cgroup2Root, "skiff-proxy-test-")
	if err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		// Exited clients may linger in the cgroup for a moment.
		err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true,
			func(context.Context) (bool, error) {
				err := os.Remove(dir)
				return err == nil || errors.Is(err, os.ErrNotExist), nil
			})
		if err != nil {
			t.Errorf("remove cgroup %s: %v", dir, err)
		}
	})
	return dir, f
}

// testPinDir is a fresh directory for the proxy's bpffs, unmounted at the
// end.
func testPinDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bpf")
	t.Cleanup(func() {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.BPF_FS_MAGIC {
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	})
	return dir
}

func endpointSlice(ns, name, svc string, port netip.AddrPort, addrs ...netip.AddrPort) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(port.Port()))}},
	}
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{a.Addr().String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			NodeName:   ptr.To("node-a"),
		})
	}
	return es
}

// TestProxyEndToEnd runs the proxy against a real API server: a Service
// and its EndpointSlices created through the API become reachable at the
// ClusterIP, removing the endpoints refuses connections, and deleting the
// Service removes its frontend.
func TestProxyEndToEnd(t *testing.T) {
	requirePrivileges(t)
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
	// Both backends listen on one port, so one EndpointSlice port fits both.
	b1, b2 := c.backends[0], c.backends[1]

	const ns = "proxy-test"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := kc.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(int32(b1.Port())),
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vip := netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), 80)
	if !netip.MustParsePrefix("10.0.0.0/24").Contains(vip.Addr()) {
		t.Fatalf("ClusterIP %s is outside the test server's range", vip)
	}
	slices1 := kc.DiscoveryV1().EndpointSlices(ns)
	if _, err := slices1.Create(ctx, endpointSlice(ns, "web-a", "web", b1, b1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := slices1.Create(ctx, endpointSlice(ns, "web-b", "web", b2, b2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	p, err := New(Config{
		RESTConfig:         ts.Config,
		NodeName:           "node-a",
		PinDir:             pinDir,
		CgroupPath:         cgroup,
		MaglevTableSize:    1021,
		MapSizes:           MapSizes{Services: 1024, Backends: 1024, Affinity: 1024, RevNat: 4096},
		HealthzBindAddress: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Start did not return after cancel")
		}
		if err := Cleanup(Config{PinDir: pinDir, CgroupPath: cgroup, MaglevTableSize: 1021,
			MapSizes: MapSizes{Services: 1024, Backends: 1024, Affinity: 1024, RevNat: 4096}}); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
		if entries, err := os.ReadDir(filepath.Join(pinDir, "maps")); err == nil && len(entries) > 0 {
			t.Errorf("pins left after Cleanup: %v", entries)
		}
	})

	healthz := "http://" + p.HealthzAddr().String() + "/healthz"
	eventually(t, "healthz", func() (bool, string) {
		resp, err := http.Get(healthz)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	// Both slices' endpoints serve the ClusterIP, and the client sees the
	// ClusterIP as its peer.
	seen := map[string]bool{}
	eventually(t, "connections to "+vip.String()+" reach both backends", func() (bool, string) {
		r := c.dial(vip.String())
		if r.Err == "" {
			if r.Peer != vip.String() {
				t.Errorf("peer %s, want the ClusterIP %s", r.Peer, vip)
			}
			seen[r.Backend] = true
		}
		return seen[b1.String()] && seen[b2.String()] && len(seen) == 2, fmt.Sprintf("%+v, seen %v", r, seen)
	})

	// Without endpoints the Service refuses connections, as kube-proxy's
	// reject rule does.
	if _, err := slices1.Update(ctx, endpointSlice(ns, "web-a", "web", b1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := slices1.Delete(ctx, "web-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "connections refused without endpoints", func() (bool, string) {
		r := c.dial(vip.String())
		return r.Err == "ECONNREFUSED", fmt.Sprintf("%+v", r)
	})

	// Endpoints back again, then the Service deleted: its frontend goes
	// from the maps and the ClusterIP is no longer translated, so the
	// client's namespace has no route to it.
	if _, err := slices1.Update(ctx, endpointSlice(ns, "web-a", "web", b1, b1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "backend reachable again", func() (bool, string) {
		r := c.dial(vip.String())
		return r.Backend == b1.String(), fmt.Sprintf("%+v", r)
	})
	if err := kc.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "frontend removed from the maps", func() (bool, string) {
		snap, err := p.Dump()
		if err != nil {
			return false, err.Error()
		}
		var fes []string
		for _, f := range snap.Frontends {
			fes = append(fes, f.Frontend.String())
		}
		return !slices.Contains(fes, vip.String()), fmt.Sprint(fes)
	})
	if r := c.dial(vip.String()); r.Err != "ENETUNREACH" {
		t.Errorf("dial %s after the Service was deleted: %+v, want ENETUNREACH", vip, r)
	}
}
