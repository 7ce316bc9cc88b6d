//go:build !linux

package proxy

import (
	"context"
	"errors"
	"io"
	"net"
)

// Proxy is unavailable off Linux: the datapath is cgroup BPF.
type Proxy struct{}

// New fails: the eBPF proxy needs Linux.
func New(Config) (*Proxy, error) {
	return nil, errors.New("skiff proxy needs Linux (cgroup BPF socket hooks)")
}

// Start is never reached.
func (*Proxy) Start(context.Context) error { return errors.ErrUnsupported }

// HealthzAddr is nil.
func (*Proxy) HealthzAddr() net.Addr { return nil }

// Close does nothing.
func (*Proxy) Close() error { return nil }

// Cleanup fails: the eBPF proxy needs Linux.
func Cleanup(Config) error { return errors.New("skiff proxy needs Linux (cgroup BPF socket hooks)") }

// WriteStatus fails: the eBPF proxy needs Linux.
func WriteStatus(io.Writer, string) error {
	return errors.New("skiff proxy needs Linux (cgroup BPF socket hooks)")
}
