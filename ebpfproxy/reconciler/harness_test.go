//go:build linux

package reconciler

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// The tests attach the hooks to a cgroup of their own under cgroup2Root and
// run clients in it by re-executing the test binary there, so nothing
// outside the test is ever translated. VIPs are in 10.250.0.0/16 and
// fd00:250::/64; backends listen on loopback.
const (
	cgroup2Root = "/sys/fs/cgroup/unified"
	clientEnv   = "SKIFF_EBPFPROXY_TEST_CLIENT"
)

func TestMain(m *testing.M) {
	if os.Getenv(clientEnv) != "" {
		os.Exit(runClient(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func requirePrivileges(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for BPF, bpffs and cgroups")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroup2Root, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skipf("no cgroup2 at %s", cgroup2Root)
	}
}

// testCgroup makes a child cgroup for one test and removes it afterwards.
func testCgroup(t testing.TB) (string, *os.File) {
	t.Helper()
	dir, err := os.MkdirTemp(cgroup2Root, "skiff-ebpfproxy-test-")
	if err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		// The clients have been waited for, but the kernel may take a moment
		// to drop exited tasks from the cgroup.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("remove cgroup %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir, f
}

// testPinDir is a fresh directory the reconciler mounts bpffs on; it is
// unmounted afterwards.
func testPinDir(t testing.TB) string {
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

// smallSizes keep map preallocation, and so each test's load, cheap.
var smallSizes = bpf.Sizes{Services: 1024, Backends: 1024, Affinity: 1024, RevNat: 4096}

type env struct {
	t      testing.TB
	cgroup string
	cgFD   *os.File
	pinDir string
	tables *tables.Tables
	node   tables.Node
	rec    *Reconciler
	ctx    context.Context
}

func newEnv(t testing.TB) *env {
	t.Helper()
	requirePrivileges(t)
	e := &env{t: t, pinDir: testPinDir(t), ctx: context.Background()}
	e.cgroup, e.cgFD = testCgroup(t)
	e.node = tables.Node{Name: "node-a", Zone: "zone-a", Addresses: []netip.Addr{netip.MustParseAddr("10.250.255.1")}}
	e.tables = tables.New(e.node)
	e.rec = e.open(1021)
	t.Cleanup(func() {
		if e.rec != nil {
			if err := e.rec.Uninstall(); err != nil {
				t.Errorf("uninstall: %v", err)
			}
		}
	})
	return e
}

// open starts a Reconciler on the env's pin dir and cgroup.
func (e *env) open(m uint32) *Reconciler {
	e.t.Helper()
	r, err := New(Config{Tables: e.tables, PinDir: e.pinDir, CgroupPath: e.cgroup, MaglevTableSize: m, Sizes: smallSizes})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return r
}

func (e *env) sync() SyncStats {
	e.t.Helper()
	st, err := e.rec.Sync(e.ctx)
	if err != nil {
		e.t.Fatalf("Sync: %v", err)
	}
	return st
}

var svcCounter struct {
	sync.Mutex
	n int
}

// service upserts a single-port ClusterIP service and its backends.
func (e *env) service(name string, vip netip.AddrPort, proto tables.Protocol, affinity time.Duration, backends ...netip.AddrPort) tables.ServiceName {
	e.t.Helper()
	sn := tables.ServiceName{Namespace: "test", Name: name}
	svc := tables.Service{Name: sn, ClusterIPs: []netip.Addr{vip.Addr()}, AffinityTimeout: affinity,
		Ports: []tables.ServicePort{{Name: "p", Protocol: proto, Port: vip.Port()}}}
	if err := e.tables.UpsertService(svc); err != nil {
		e.t.Fatal(err)
	}
	e.setBackends(sn, proto, backends...)
	return sn
}

func (e *env) setBackends(sn tables.ServiceName, proto tables.Protocol, backends ...netip.AddrPort) {
	e.t.Helper()
	var bs []tables.Backend
	for _, b := range backends {
		bs = append(bs, tables.Backend{Addr: b, Protocol: proto, PortName: "p", NodeName: "node-a", Ready: true, Serving: true})
	}
	if err := e.tables.UpsertBackends(sn, sn.Name+"-slice", bs); err != nil {
		e.t.Fatal(err)
	}
}

// tcpBackend listens on addr; each connection gets the backend's address
// as its first line, then "pong <addr>" for every line it sends.
func tcpBackend(t testing.TB, addr string) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { l.Close() })
	self := l.Addr().(*net.TCPAddr).AddrPort()
	name := netip.AddrPortFrom(self.Addr().Unmap(), self.Port()).String()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "pong %s\n", name)
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(name)
}

// udpBackend answers every datagram with its own address.
func udpBackend(t testing.TB, addr string) netip.AddrPort {
	t.Helper()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	self := c.LocalAddr().(*net.UDPAddr).AddrPort()
	name := netip.AddrPortFrom(self.Addr().Unmap(), self.Port()).String()
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo([]byte(name), from)
		}
	}()
	return netip.MustParseAddrPort(name)
}

// request is one operation for the client process.
type request struct {
	Op        string `json:"op"`
	Addr      string `json:"addr,omitempty"`
	Network   string `json:"network,omitempty"`
	N         int    `json:"n,omitempty"`
	ID        int    `json:"id,omitempty"`
	Connected bool   `json:"connected,omitempty"`
}

// reply is one result per attempt: who answered and the peer the socket
// reported, or the error.
type reply struct {
	Backends []string `json:"backends,omitempty"`
	Peers    []string `json:"peers,omitempty"`
	Errs     []string `json:"errs,omitempty"`
	ID       int      `json:"id,omitempty"`
	Fatal    string   `json:"fatal,omitempty"`
}

// client is a process in the test cgroup that runs requests.
type client struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func (e *env) client() *client {
	e.t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), clientEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(e.cgFD.Fd())}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start client: %v", err)
	}
	c := &client{t: e.t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	c.out.Buffer(nil, 1<<20)
	e.t.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			e.t.Errorf("client: %v", err)
		}
	})
	return c
}

func (c *client) do(r request) reply {
	c.t.Helper()
	b, _ := json.Marshal(r)
	if _, err := fmt.Fprintf(c.in, "%s\n", b); err != nil {
		c.t.Fatalf("send to client: %v", err)
	}
	if !c.out.Scan() {
		c.t.Fatalf("client ended: %v", c.out.Err())
	}
	var rep reply
	if err := json.Unmarshal(c.out.Bytes(), &rep); err != nil {
		c.t.Fatalf("client reply %q: %v", c.out.Text(), err)
	}
	if rep.Fatal != "" {
		c.t.Fatalf("client: %s", rep.Fatal)
	}
	return rep
}

// runClient is the client process: it reads requests from in and writes
// replies to out until in ends.
func runClient(in io.Reader, out io.Writer) int {
	conns := map[int]net.Conn{}
	var udpSockets []*net.UDPConn
	sc := bufio.NewScanner(in)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var r request
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			enc.Encode(reply{Fatal: err.Error()})
			continue
		}
		var rep reply
		record := func(backend, peer string, err error) {
			if err != nil {
				rep.Errs = append(rep.Errs, errName(err))
				return
			}
			rep.Backends = append(rep.Backends, backend)
			rep.Peers = append(rep.Peers, peer)
		}
		network := r.Network
		switch r.Op {
		case "tcp": // n short connections
			if network == "" {
				network = "tcp"
			}
			for range r.N {
				c, err := net.DialTimeout(network, r.Addr, 2*time.Second)
				if err != nil {
					record("", "", err)
					continue
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				record(strings.TrimSpace(line), c.RemoteAddr().String(), err)
				c.Close()
			}
		case "open": // one long connection, kept by id
			c, err := net.DialTimeout("tcp", r.Addr, 2*time.Second)
			if err != nil {
				record("", "", err)
				break
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, err := readLine(c)
			record(line, c.RemoteAddr().String(), err)
			rep.ID = len(conns) + 1
			conns[rep.ID] = c
		case "ping": // a round trip on a kept connection
			c := conns[r.ID]
			c.SetDeadline(time.Now().Add(2 * time.Second))
			_, err := fmt.Fprintf(c, "ping\n")
			line := ""
			if err == nil {
				line, err = readLine(c)
			}
			record(strings.TrimPrefix(line, "pong "), c.RemoteAddr().String(), err)
		case "udp": // n fresh sockets, one datagram each
			if network == "" {
				network = "udp4"
			}
			for range r.N {
				backend, peer, err := udpOnce(network, r.Addr, r.Connected)
				record(backend, peer, err)
			}
		case "udp-open": // n sockets kept, one datagram each
			if network == "" {
				network = "udp4"
			}
			for range r.N {
				c, err := net.ListenUDP(network, nil)
				if err != nil {
					rep.Fatal = err.Error()
					break
				}
				udpSockets = append(udpSockets, c)
			}
			fallthrough
		case "udp-again": // one more datagram on each kept socket
			dst, err := net.ResolveUDPAddr("udp", r.Addr)
			if err != nil {
				rep.Fatal = err.Error()
				break
			}
			for _, c := range udpSockets {
				backend, peer, err := udpExchange(c, dst)
				record(backend, peer, err)
			}
		default:
			rep.Fatal = "unknown op " + r.Op
		}
		enc.Encode(rep)
	}
	return 0
}

func readLine(c net.Conn) (string, error) {
	// Byte by byte, so no data of the next reply is buffered away.
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		if _, err := c.Read(buf); err != nil {
			return b.String(), err
		}
		if buf[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(buf[0])
	}
}

func udpOnce(network, addr string, connected bool) (string, string, error) {
	dst, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		return "", "", err
	}
	if connected {
		c, err := net.DialUDP(network, nil, dst)
		if err != nil {
			return "", "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("hi")); err != nil {
			return "", "", err
		}
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		// getpeername on a connected UDP socket goes through the hook.
		peer := ""
		if sa, gerr := unixGetpeername(c); gerr == nil {
			peer = sa
		}
		return string(buf[:n]), peer, err
	}
	c, err := net.ListenUDP(network, nil)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	return udpExchange(c, dst)
}

func udpExchange(c *net.UDPConn, dst *net.UDPAddr) (string, string, error) {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.WriteToUDP([]byte("hi"), dst); err != nil {
		return "", "", err
	}
	buf := make([]byte, 512)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return "", "", err
	}
	return string(buf[:n]), netip.AddrPortFrom(from.Addr().Unmap(), from.Port()).String(), nil
}

// unixGetpeername asks the kernel directly: Go caches a connected UDP
// socket's remote address instead of calling getpeername(2).
func unixGetpeername(c *net.UDPConn) (string, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return "", err
	}
	var out string
	var serr error
	rc.Control(func(fd uintptr) {
		sa, err := unix.Getpeername(int(fd))
		if err != nil {
			serr = err
			return
		}
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			out = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
		case *unix.SockaddrInet6:
			out = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)).String()
		}
	})
	return out, serr
}

func errName(err error) string {
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EPERM, syscall.ETIMEDOUT, syscall.ENETUNREACH} {
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

func netListenProbe(addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Addr(), nil
}
