//go:build linux

package reconciler

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// tcPinPrefix starts the pin names of TC links; the interface name follows.
const tcPinPrefix = "tcx-ingress-"

// tcHook is one tcx attachment point: the ingress program serving
// NodePorts (and masquerade replies) or the egress masquerade program.
type tcHook struct {
	attach    ebpf.AttachType
	pinPrefix string
	what      string
}

var (
	tcIngress = tcHook{ebpf.AttachTCXIngress, tcPinPrefix, "ingress"}
	tcEgress  = tcHook{ebpf.AttachTCXEgress, tcEgressPinPrefix, "egress"}
)

// attachTC attaches prog at hook (tcx ingress or egress) of each interface,
// adopting pinned links as attachHooks does, and detaches pinned links of
// that hook on interfaces no longer listed. Interfaces are looked up in the
// network namespace at netnsPath, or the caller's when it is empty.
func attachTC(prog *ebpf.Program, hook tcHook, pinDir string, ifaces []string, netnsPath string) ([]link.Link, int, error) {
	var (
		links   []link.Link
		adopted int
		err     error
	)
	inNetNS(netnsPath, func() error {
		links, adopted, err = attachTCHere(prog, hook, pinDir, ifaces)
		return err
	}, &err)
	return links, adopted, err
}

func attachTCHere(prog *ebpf.Program, hook tcHook, pinDir string, ifaces []string) ([]link.Link, int, error) {
	var links []link.Link
	adopted := 0
	fail := func(err error) ([]link.Link, int, error) {
		for _, l := range links {
			l.Close()
		}
		return nil, 0, err
	}
	for _, name := range ifaces {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return fail(fmt.Errorf("node interface %s: %w", name, err))
		}
		pin := filepath.Join(linksDir(pinDir), hook.pinPrefix+name)
		l, err := link.LoadPinnedLink(pin, nil)
		switch {
		case err == nil:
			if onInterface(l, ifc.Index, hook.attach) {
				if err := l.Update(prog); err != nil {
					l.Close()
					return fail(fmt.Errorf("update pinned TC link of %s: %w", name, err))
				}
				links = append(links, l)
				adopted++
				continue
			}
			// The interface was recreated (or renumbered): attach afresh.
			if err := l.Unpin(); err != nil {
				l.Close()
				return fail(fmt.Errorf("unpin TC link of %s: %w", name, err))
			}
			l.Close()
		case !errors.Is(err, os.ErrNotExist):
			return fail(fmt.Errorf("load pinned TC link of %s: %w", name, err))
		}
		l, err = link.AttachTCX(link.TCXOptions{Interface: ifc.Index, Program: prog, Attach: hook.attach})
		if err != nil {
			return fail(fmt.Errorf("attach TC program to %s %s: %w", name, hook.what, err))
		}
		if err := l.Pin(pin); err != nil {
			l.Close()
			return fail(fmt.Errorf("pin TC link of %s: %w", name, err))
		}
		links = append(links, l)
	}
	if err := detachStaleTC(pinDir, hook.pinPrefix, ifaces); err != nil {
		return fail(err)
	}
	return links, adopted, nil
}

// detachStaleTC removes pinned TC links (pin names starting with prefix) of
// interfaces not in keep.
func detachStaleTC(pinDir, prefix string, keep []string) error {
	entries, err := os.ReadDir(linksDir(pinDir))
	if err != nil {
		return fmt.Errorf("list pinned links: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || slices.Contains(keep, name) {
			continue
		}
		if err := os.Remove(filepath.Join(linksDir(pinDir), e.Name())); err != nil {
			return fmt.Errorf("detach TC link of %s: %w", name, err)
		}
	}
	return nil
}

func onInterface(l link.Link, ifindex int, at ebpf.AttachType) bool {
	info, err := l.Info()
	if err != nil {
		return false
	}
	tcx := info.TCX()
	return tcx != nil && tcx.Ifindex == uint32(ifindex) && ebpf.AttachType(tcx.AttachType) == at
}

// inNetNS runs f on an OS thread moved into the network namespace at path
// (f runs directly when path is empty) and stores its error in *errp. The
// thread is discarded afterwards rather than moved back.
func inNetNS(path string, f func() error, errp *error) {
	if path == "" {
		*errp = f()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			*errp = fmt.Errorf("open network namespace %s: %w", path, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			*errp = fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		*errp = f()
	}()
	<-done
}
