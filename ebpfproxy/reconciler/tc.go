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

// attachTC attaches the TC program to the ingress of each interface (tcx),
// adopting pinned links as attachHooks does, and detaches pinned TC links of
// interfaces no longer listed. Interfaces are looked up in the network
// namespace at netnsPath, or the caller's when it is empty.
func attachTC(prog *ebpf.Program, pinDir string, ifaces []string, netnsPath string) ([]link.Link, int, error) {
	var (
		links   []link.Link
		adopted int
		err     error
	)
	inNetNS(netnsPath, func() error {
		links, adopted, err = attachTCHere(prog, pinDir, ifaces)
		return err
	}, &err)
	return links, adopted, err
}

func attachTCHere(prog *ebpf.Program, pinDir string, ifaces []string) ([]link.Link, int, error) {
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
		pin := filepath.Join(linksDir(pinDir), tcPinPrefix+name)
		l, err := link.LoadPinnedLink(pin, nil)
		switch {
		case err == nil:
			if onInterface(l, ifc.Index) {
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
		l, err = link.AttachTCX(link.TCXOptions{Interface: ifc.Index, Program: prog, Attach: ebpf.AttachTCXIngress})
		if err != nil {
			return fail(fmt.Errorf("attach TC program to %s ingress: %w", name, err))
		}
		if err := l.Pin(pin); err != nil {
			l.Close()
			return fail(fmt.Errorf("pin TC link of %s: %w", name, err))
		}
		links = append(links, l)
	}
	if err := detachStaleTC(pinDir, ifaces); err != nil {
		return fail(err)
	}
	return links, adopted, nil
}

// detachStaleTC removes pinned TC links of interfaces not in keep.
func detachStaleTC(pinDir string, keep []string) error {
	entries, err := os.ReadDir(linksDir(pinDir))
	if err != nil {
		return fmt.Errorf("list pinned links: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), tcPinPrefix)
		if !ok || slices.Contains(keep, name) {
			continue
		}
		if err := os.Remove(filepath.Join(linksDir(pinDir), e.Name())); err != nil {
			return fmt.Errorf("detach TC link of %s: %w", name, err)
		}
	}
	return nil
}

func onInterface(l link.Link, ifindex int) bool {
	info, err := l.Info()
	if err != nil {
		return false
	}
	tcx := info.TCX()
	return tcx != nil && tcx.Ifindex == uint32(ifindex) && ebpf.AttachType(tcx.AttachType) == ebpf.AttachTCXIngress
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
