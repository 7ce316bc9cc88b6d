package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/netns"
)

const testCIDR = "10.244.251.0/24"

func newTestNetwork(t *testing.T) *Network {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and CNI")
	}
	n, err := New(Config{PodCIDR: testCIDR, BridgeName: "sknt0", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := n.Reconcile(context.Background(), func(string) bool { return false }); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := n.DeleteBridge(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return n
}

// listenIn opens a TCP listener inside the network namespace at path.
func listenIn(t *testing.T, path string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := netns.Do(path, func() (err error) {
		l, err = net.Listen("tcp", ":8080")
		return err
	}); err != nil {
		t.Fatalf("listen in %s: %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestSetUpReachableAndTearDown(t *testing.T) {
	n := newTestNetwork(t)
	ctx := context.Background()
	_, cidr, _ := net.ParseCIDR(testCIDR)

	att, err := n.SetUp(ctx, "sb1", PodRef{Namespace: "default", Name: "p1", UID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(att.IPs) != 1 || !cidr.Contains(att.IPs[0]) {
		t.Fatalf("IPs = %v, want one address in %s", att.IPs, testCIDR)
	}
	st, err := n.Status(ctx, "sb1")
	if err != nil || !st.IPs[0].Equal(att.IPs[0]) {
		t.Fatalf("Status = %v, %v; want IP %s", st, err, att.IPs[0])
	}

	l := listenIn(t, att.NetNSPath)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "hello")
			c.Close()
		}
	}()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(att.IPs[0].String(), "8080"), 5*time.Second)
	if err != nil {
		t.Fatalf("connect to pod IP from the host: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := conn.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf, err)
	}
	conn.Close()

	ipFile := filepath.Join(n.ipamDir, n.cfg.NetworkName, att.IPs[0].String())
	if _, err := os.Stat(ipFile); err != nil {
		t.Fatalf("IPAM entry missing while attached: %v", err)
	}
	if err := n.TearDown(ctx, "sb1"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{att.NetNSPath, ipFile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after teardown (err %v)", p, err)
		}
	}
	if err := n.TearDown(ctx, "sb1"); err != nil {
		t.Errorf("second teardown: %v", err)
	}
	ids, err := n.Sandboxes()
	if err != nil || len(ids) != 0 {
		t.Errorf("Sandboxes() = %v, %v; want none", ids, err)
	}
}

func TestReconcileRemovesLeftovers(t *testing.T) {
	n := newTestNetwork(t)
	ctx := context.Background()
	for _, id := range []string{"keep1", "gone1", "gone2"} {
		if _, err := n.SetUp(ctx, id, PodRef{Namespace: "default", Name: id, UID: id}); err != nil {
			t.Fatal(err)
		}
	}
	// A crash after IPAM but with the netns lost: only the IP is left.
	if err := netns.Remove(n.NetNSPath("gone2")); err != nil {
		t.Fatal(err)
	}
	removed, err := n.Reconcile(ctx, func(id string) bool { return id == "keep1" })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(removed) != "[gone1 gone2]" {
		t.Errorf("removed = %v, want [gone1 gone2]", removed)
	}
	ids, err := n.Sandboxes()
	if err != nil || fmt.Sprint(ids) != "[keep1]" {
		t.Errorf("Sandboxes() = %v, %v; want [keep1]", ids, err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no state dir", Config{PodCIDR: testCIDR}},
		{"bad cidr", Config{PodCIDR: "10.0.0.0", StateDir: t.TempDir()}},
		{"long bridge", Config{PodCIDR: testCIDR, StateDir: t.TempDir(), BridgeName: "a-very-long-bridge-name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
