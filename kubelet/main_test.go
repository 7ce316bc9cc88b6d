package kubelet

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/kubelet/images"
	"github.com/skiff-dev/skiff/kubelet/network"
	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// The package's tests share one API server and one kubelet (own data dir,
// cgroup root, bridge and pod range); the restart test replaces the kubelet.
const (
	testImage    = "skiff.local/busybox:test"
	testCIDR     = "10.247.31.0/24"
	testBridge   = "skpw0"
	testNode     = "pw-node"
	testNS       = "pw"
	testBackoff  = time.Second
	testBackoffM = 4 * time.Second
)

var (
	ts         *testserver.TestServer
	admin      kubernetes.Interface
	testDir    string
	testCgRoot string
	skipReason string

	current *runningKubelet
)

type runningKubelet struct {
	k      *Kubelet
	cancel context.CancelFunc
	done   chan error
}

func TestMain(m *testing.M) {
	runtime.RunLoggerIfInvoked() // the shim runs this test binary as the log writer
	// SKIFF_TEST_KLOG_V sets klog's verbosity (e.g. 2 for the kubelet's
	// sync and start timings).
	if v := os.Getenv("SKIFF_TEST_KLOG_V"); v != "" {
		fs := flag.NewFlagSet("klog", flag.ExitOnError)
		klog.InitFlags(fs)
		_ = fs.Set("v", v)
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "needs root"
	} else if _, err := exec.LookPath(runtime.DefaultContainerdBinary); err != nil {
		skipReason = "containerd not installed"
	} else if _, err := os.Stat(images.DefaultBusyboxBinary); err != nil {
		skipReason = "busybox-static not installed"
	}
	if skipReason != "" {
		return m.Run()
	}
	var err error
	if testDir, err = os.MkdirTemp("", "skpw"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(testDir)
	testCgRoot = "/skiff-pwtest-" + filepath.Base(testDir) + "/kubepods"
	defer cleanupNode()
	if ts, err = testserver.Start(testserver.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "start API server:", err)
		return 1
	}
	defer ts.Stop()
	admin = ts.Client()
	ctx := context.Background()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := admin.CoreV1().ServiceAccounts(testNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if current, err = startKubelet(); err != nil {
		fmt.Fprintln(os.Stderr, "start kubelet:", err)
		return 1
	}
	defer func() { _ = current.stop() }()
	img, err := images.Busybox(images.BusyboxOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := current.k.Runtime().ImportImage(ctx, testImage, img); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startKubelet starts the package's kubelet on the test node (scripted
// prober, short resync and back-offs) and waits until its runtime is
// connected.
func startKubelet() (*runningKubelet, error) { return startKubeletWith(nil) }

// startKubeletWith is startKubelet with the config changed by mod first.
func startKubeletWith(mod func(*Config)) (*runningKubelet, error) {
	cfg := Config{
		RESTConfig: ts.Config, NodeName: testNode, DataDir: testDir, CgroupRoot: testCgRoot,
		PodCIDR: testCIDR, BridgeName: testBridge, ClusterDNS: []string{"10.96.0.10"}, ResolvConf: "/etc/resolv.conf",
		BackoffBase: testBackoff, BackoffMax: testBackoffM, ImageBackoffBase: testBackoff, ImageBackoffMax: testBackoffM,
		ResyncInterval: 500 * time.Millisecond, Prober: testProber,
	}
	if mod != nil {
		mod(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rk := &runningKubelet{k: k, cancel: cancel, done: make(chan error, 1)}
	go func() { rk.done <- k.Start(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for k.Runtime() == nil || k.workers.Load() == nil {
		select {
		case err := <-rk.done:
			return nil, fmt.Errorf("kubelet exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			return nil, fmt.Errorf("kubelet did not start within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return rk, nil
}

func (rk *runningKubelet) stop() error {
	rk.cancel()
	select {
	case err := <-rk.done:
		return err
	case <-time.After(60 * time.Second):
		return fmt.Errorf("kubelet did not stop within 60s")
	}
}

// cleanupNode removes whatever the tests left: every pod's containers,
// network namespaces and IPs, the bridge and the cgroups.
func cleanupNode() {
	ctx := context.Background()
	netw, err := network.New(network.Config{PodCIDR: testCIDR, BridgeName: testBridge, StateDir: filepath.Join(testDir, "network")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cleanup:", err)
		return
	}
	defer netw.DeleteBridge()
	rt, err := runtime.New(ctx, runtime.Config{DataDir: testDir, CgroupRoot: testCgRoot, Network: netw})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cleanup:", err)
		return
	}
	if err := rt.Reconcile(ctx, nil); err != nil {
		fmt.Fprintln(os.Stderr, "cleanup:", err)
	}
	_ = rt.Close()
	top := strings.Split(strings.TrimPrefix(testCgRoot, "/"), "/")[0]
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + top)
	if d := "/sys/fs/cgroup/" + top; dirExists(d) {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		removeTree(d)
	}
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// removeTree rmdirs a cgroup directory bottom-up.
func removeTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	_ = os.Remove(dir)
}

func requireNode(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
