package hostnet

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/internal/netns"
)

func newTestNetwork(t *testing.T) *Network {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for bridges, veths and namespaces")
	}
	_, v4, _ := netutils.ParseCIDRSloppy("10.213.7.0/24")
	_, v6, _ := netutils.ParseCIDRSloppy("fd00:5c1f:7::/64")
	n, err := New(Config{Cluster: fmt.Sprintf("hostnet-test-%d", os.Getpid()), StateDir: t.TempDir(), Subnets: []*net.IPNet{v4, v6}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Teardown() })
	return n
}

// serveIn answers one line on port 7000 of every address in the namespace.
func serveIn(t *testing.T, path, reply string) {
	t.Helper()
	var l net.Listener
	if err := netns.Do(path, func() (err error) {
		l, err = net.Listen("tcp", ":7000")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, reply)
			c.Close()
		}
	}()
}

func dial(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestNodesReachEachOtherAndTeardownLeavesNothing(t *testing.T) {
	n := newTestNetwork(t)
	if err := n.EnsureBridge(); err != nil {
		t.Fatal(err)
	}
	a, err := n.EnsureNode(0, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.EnsureNode(1, "b")
	if err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second pass over existing state changes nothing.
	if err := n.EnsureBridge(); err != nil {
		t.Fatal(err)
	}
	if again, err := n.EnsureNode(1, "b"); err != nil || !again.IPs[0].Equal(b.IPs[0]) {
		t.Fatalf("EnsureNode again = %v, %v", again, err)
	}
	if got := a.IPs[0].String() + " " + b.IPs[1].String(); got != "10.213.7.2 fd00:5c1f:7::3" {
		t.Errorf("node IPs = %s", got)
	}
	serveIn(t, b.NetNS, "from-b")

	tests := []struct {
		name string
		from string // netns path; empty is the host
		addr string
	}{
		{"host to node v4", "", net.JoinHostPort(b.IPs[0].String(), "7000")},
		{"node to node v4", a.NetNS, net.JoinHostPort(b.IPs[0].String(), "7000")},
		{"node to node v6", a.NetNS, net.JoinHostPort(b.IPs[1].String(), "7000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var err error
			deadline := time.Now().Add(10 * time.Second) // IPv6 neighbour discovery may take a moment
			for {
				if tt.from == "" {
					got, err = dial(tt.addr)
				} else {
					err = netns.Do(tt.from, func() (e error) { got, e = dial(tt.addr); return e })
				}
				if err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil || got != "from-b" {
				t.Fatalf("dial %s: %q, %v", tt.addr, got, err)
			}
		})
	}
	var forwarding []byte
	if err := netns.Do(a.NetNS, func() (e error) { forwarding, e = os.ReadFile("/proc/sys/net/ipv4/ip_forward"); return e }); err != nil {
		t.Fatal(err)
	}
	if string(forwarding) != "1\n" {
		t.Errorf("ip_forward in node = %q", forwarding)
	}

	// Leftovers sees what was made: the bridge, two veths, two namespaces.
	if left := n.Leftovers(); len(left) != 5 {
		t.Errorf("before teardown Leftovers = %v, want 5 entries", left)
	}
	if err := n.Teardown(); err != nil {
		t.Fatal(err)
	}
	if left := n.Leftovers(); len(left) != 0 {
		t.Errorf("left after Teardown: %v", left)
	}
}

func TestNewValidates(t *testing.T) {
	_, v4, _ := netutils.ParseCIDRSloppy("10.0.0.0/24")
	_, v4b, _ := netutils.ParseCIDRSloppy("10.1.0.0/24")
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no cluster", Config{StateDir: "/x", Subnets: []*net.IPNet{v4}}},
		{"no subnets", Config{Cluster: "c", StateDir: "/x"}},
		{"same family twice", Config{Cluster: "c", StateDir: "/x", Subnets: []*net.IPNet{v4, v4b}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
	_, tiny, _ := netutils.ParseCIDRSloppy("10.0.0.0/30")
	n, err := New(Config{Cluster: "c", StateDir: "/x", Subnets: []*net.IPNet{tiny}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.NodeIPs(0); err != nil {
		t.Errorf("node 0 in a /30: %v", err)
	}
	if _, err := n.NodeIPs(1); err == nil {
		t.Error("node 1 in a /30 (the broadcast address) allowed")
	}
}
