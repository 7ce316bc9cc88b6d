//go:build linux

package reconciler

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// netnsSet is a group of named network namespaces (ip netns) for one test,
// removed with everything in them when the test ends.
type netnsSet struct {
	t      testing.TB
	prefix string
}

func newNetnsSet(t testing.TB) *netnsSet {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	return &netnsSet{t: t, prefix: fmt.Sprintf("sk%d-", os.Getpid())}
}

// add creates a namespace and brings its loopback up.
func (s *netnsSet) add(name string) string {
	s.t.Helper()
	full := s.prefix + name
	s.ip("netns", "add", full)
	s.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", full).CombinedOutput(); err != nil {
			s.t.Errorf("ip netns del %s: %v: %s", full, err, out)
		}
	})
	s.ip("-n", full, "link", "set", "lo", "up")
	return full
}

func (s *netnsSet) path(full string) string { return "/run/netns/" + full }

func (s *netnsSet) ip(args ...string) {
	s.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// veth links ns a's interface ifA (address cidrA) with ns b's ifB (cidrB);
// gwB, when set, becomes b's default route. Transmit checksum offload is
// turned off on both ends, so every checksum the datapath rewrites is
// checked by the receiving stack.
func (s *netnsSet) veth(a, ifA, cidrA, b, ifB, cidrB, gwB string) {
	s.t.Helper()
	s.ip("-n", a, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b)
	s.ip("-n", a, "addr", "add", cidrA, "dev", ifA)
	s.ip("-n", b, "addr", "add", cidrB, "dev", ifB)
	s.ip("-n", a, "link", "set", ifA, "up")
	s.ip("-n", b, "link", "set", ifB, "up")
	if gwB != "" {
		s.ip("-n", b, "route", "add", "default", "via", gwB)
	}
	for _, e := range [][2]string{{a, ifA}, {b, ifB}} {
		if err := s.do(e[0], func() error { return txChecksumOff(e[1]) }); err != nil {
			s.t.Fatalf("turn off tx checksum offload of %s in %s: %v", e[1], e[0], err)
		}
	}
}

// sysctl writes a sysctl inside ns.
func (s *netnsSet) sysctl(ns, key, val string) {
	s.t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := s.do(ns, func() error { return os.WriteFile(path, []byte(val), 0o644) }); err != nil {
		s.t.Fatalf("sysctl %s=%s in %s: %v", key, val, ns, err)
	}
}

// do runs f on a thread in ns; sockets f creates stay in ns.
func (s *netnsSet) do(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread is discarded, not moved back
		fd, err := unix.Open(s.path(ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// listen opens a listener in ns.
func (s *netnsSet) listen(ns, network, addr string) (l net.Listener, err error) {
	err = s.do(ns, func() error {
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// listenPacket opens a packet socket in ns.
func (s *netnsSet) listenPacket(ns, network, addr string) (c net.PacketConn, err error) {
	err = s.do(ns, func() error {
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
}

// txChecksumOff clears an interface's transmit checksum offload
// (ETHTOOL_STXCSUM), as `ethtool -K dev tx off` does.
func txChecksumOff(dev string) error {
	const (
		siocEthtool    = 0x8946
		ethtoolSTxCsum = 0x17
	)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	val := struct{ cmd, data uint32 }{ethtoolSTxCsum, 0}
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data uintptr
		_    [16]byte
	}
	copy(ifr.name[:], dev)
	ifr.data = uintptr(unsafe.Pointer(&val))
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), siocEthtool, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
		return errno
	}
	runtime.KeepAlive(&val)
	return nil
}
