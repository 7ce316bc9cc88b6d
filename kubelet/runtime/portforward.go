package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
)

// PortForward connects stream to TCP port on 127.0.0.1 inside the pod's
// network namespace (the host's for host-network pods) and copies data both
// ways until both directions are done or ctx ends. stream is closed on return.
func (r *Runtime) PortForward(ctx context.Context, podUID types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port forward to pod %s: invalid port %d", podUID, port)
	}
	sb, err := r.GetPodSandbox(ctx, podUID)
	if err != nil {
		return fmt.Errorf("port forward to pod %s: %w", podUID, err)
	}
	if sb.PID == 0 {
		return fmt.Errorf("port forward to pod %s: sandbox is not running", podUID)
	}
	conn, err := dialInNetNS(ctx, sb.NetNSPath, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("port forward to pod %s port %d: %w", podUID, port, err)
	}
	defer conn.Close()
	return splice(ctx, conn, stream)
}

// splice copies between conn and stream: the client's EOF half-closes conn;
// the pod side's EOF ends the forward.
func splice(ctx context.Context, conn net.Conn, stream io.ReadWriteCloser) error {
	toPod := make(chan error, 1)
	fromPod := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		toPod <- err
	}()
	go func() {
		_, err := io.Copy(stream, conn)
		fromPod <- err
	}()
	select {
	case err := <-fromPod:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("copy from pod: %w", err)
		}
		return nil
	case <-ctx.Done():
		return nil
	}
}

// dialInNetNS dials a TCP address from inside the network namespace at
// nsPath (the current one if empty). The socket is created on a thread
// moved into the namespace and keeps it after the thread moves back.
func dialInNetNS(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if nsPath == "" {
		return d.DialContext(ctx, "tcp4", addr)
	}
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer target.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		// The thread is not unlocked if it could not return to the host
		// namespace: it then dies with this goroutine.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open current netns: %w", err)}
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter netns %s: %w", nsPath, err)}
			return
		}
		c, err := d.DialContext(ctx, "tcp4", addr)
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr == nil {
			goruntime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	res := <-ch
	return res.c, res.err
}
