//go:build linux

package reconciler

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// BenchmarkConnect measures a blocking TCP connect through the hook to a VIP
// against a direct connect to the backend (which still runs the hook, as a
// miss) and against a direct connect from outside the hooked cgroup. The
// benchmark moves its own process into the test cgroup for the hooked
// cases, so run it alone (-run '^$').
func BenchmarkConnect(b *testing.B) {
	e := newEnv(b)
	backend := acceptAll(b, "127.0.0.30:0")
	vip := netip.MustParseAddrPort("10.250.0.100:80")
	e.service("bench", vip, tables.TCP, 0, backend)
	e.sync()

	dial := func(b *testing.B, addr string) {
		for b.Loop() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	}
	b.Run("direct-unhooked", func(b *testing.B) { dial(b, backend.String()) })
	enterCgroup(b, e.cgroup)
	b.Run("direct-hooked", func(b *testing.B) { dial(b, backend.String()) })
	b.Run("vip", func(b *testing.B) { dial(b, vip.String()) })
}

// enterCgroup moves the whole test process into dir until the benchmark
// ends; sockets are bound to the cgroup they are created in.
func enterCgroup(b *testing.B, dir string) {
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0); err != nil {
		b.Fatalf("enter cgroup: %v", err)
	}
	b.Cleanup(func() {
		if err := os.WriteFile(filepath.Join(cgroup2Root, "cgroup.procs"), pid, 0); err != nil {
			b.Errorf("leave cgroup: %v", err)
		}
	})
}

func acceptAll(b testing.TB, addr string) netip.AddrPort {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	return netip.MustParseAddrPort(fmt.Sprintf("%s:%d", ap.Addr().Unmap(), ap.Port()))
}
