package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/netns"
)

func spec(t *testing.T, name string, script string) Spec {
	dir := t.TempDir()
	return Spec{
		Name:    name,
		Argv:    []string{"/bin/sh", "-c", script, "skiff-daemon-test-" + name},
		LogFile: filepath.Join(dir, name+".log"),
		PIDFile: filepath.Join(dir, name+".pid"),
	}
}

// waitLog polls the daemon's log until it contains want.
func waitLog(t *testing.T, s Spec, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(s.LogFile)
		if strings.Contains(string(log), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q; log: %q", s.Name, want, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartAdoptStop(t *testing.T) {
	s := spec(t, "plain", "echo started; sleep 1000")
	pid, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Kill(s) })
	if again, err := Start(s); err != nil || again != pid {
		t.Fatalf("second Start = %d, %v; want the running %d adopted", again, err, pid)
	}
	if got, ok := Running(s); !ok || got != pid {
		t.Fatalf("Running = %d, %v", got, ok)
	}
	// Another spec with the same pid file but another command is not it.
	other := s
	other.Argv = []string{"/bin/true"}
	if _, ok := Running(other); ok {
		t.Error("a pid file's process counted for another command line")
	}
	waitLog(t, s, "started")
	if err := Stop(s, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := Running(s); ok {
		t.Error("still running after Stop")
	}
	if _, err := os.Stat(s.PIDFile); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	s := spec(t, "stubborn", `trap "" TERM; echo ready; while true; do sleep 0.05; done`)
	if _, err := Start(s); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "ready")
	t.Cleanup(func() { _ = Kill(s) })
	start := time.Now()
	if err := Stop(s, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Error("a TERM-ignoring daemon stopped before the grace period: SIGTERM was not ignored?")
	}
	if _, ok := Running(s); ok {
		t.Error("still running after Stop")
	}
}

func TestNetNSAndCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	const unified = "/sys/fs/cgroup/unified"
	if _, err := os.Stat(filepath.Join(unified, "cgroup.procs")); err != nil {
		t.Skipf("no cgroup2 hierarchy at %s", unified)
	}
	ns := filepath.Join(t.TempDir(), "ns")
	if err := netns.Create(ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Remove(ns) })
	cg := filepath.Join(unified, fmt.Sprintf("skiff-daemon-test-%d", os.Getpid()))
	t.Cleanup(func() { _ = os.Remove(cg) })

	s := spec(t, "placed", "sleep 1000")
	s.NetNS, s.Cgroup = ns, cg
	pid, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Kill(s) })
	var want string
	if err := netns.Do(ns, func() (e error) { want, e = os.Readlink("/proc/thread-self/ns/net"); return e }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); got != want {
		t.Errorf("daemon netns = %s, want %s", got, want)
	}
	cgroups, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if !strings.Contains(string(cgroups), "0::/"+filepath.Base(cg)+"\n") {
		t.Errorf("daemon cgroups:\n%s\nwant 0::/%s", cgroups, filepath.Base(cg))
	}
	if err := Stop(s, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
