package netns

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateDoStartRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	path := filepath.Join(t.TempDir(), "ns1")
	if err := Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Remove(path) })
	if !IsPinned(path) {
		t.Fatalf("%s is not a pinned netns", path)
	}
	if err := Create(path); err == nil {
		t.Fatal("Create over an existing netns succeeded")
	}

	// Inside, only loopback exists (and is down).
	var names []string
	if err := Do(path, func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "lo" {
		t.Errorf("interfaces in a new netns = %v, want [lo]", names)
	}

	// A started child shares the namespace: its /proc/self/ns/net is ours.
	cmd := exec.Command("readlink", "/proc/self/ns/net")
	var out strings.Builder
	cmd.Stdout = &out
	exited, err := Start(path, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatal(err)
	}
	var inside string
	if err := Do(path, func() error {
		var err error
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Not /proc/self: that is the main thread, which the Go runtime may
	// have used as a (then parked) namespace-switching thread.
	host, _ := os.Readlink("/proc/1/ns/net")
	if got := strings.TrimSpace(out.String()); got != inside || got == host {
		t.Errorf("child netns = %s, want %s (host %s)", got, inside, host)
	}

	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if IsPinned(path) {
		t.Error("still pinned after Remove")
	}
	if err := Remove(path); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}
