package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/kubelet/images"
	"github.com/skiff-dev/skiff/kubelet/network"
)

// The package's tests share one supervised containerd, one pod network on
// their own bridge and range, and one cgroup root.
const (
	testImage  = "skiff.local/busybox:test"
	testCIDR   = "10.244.250.0/24"
	testBridge = "skt0"
	testDNS    = "10.96.0.10"
)

var (
	testRT     *Runtime
	testNet    *network.Network
	testCgRoot string
	skipReason string
)

func TestMain(m *testing.M) {
	RunLoggerIfInvoked() // the shim runs this test binary as the log writer
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "needs root"
	} else if _, err := exec.LookPath(DefaultContainerdBinary); err != nil {
		skipReason = "containerd not installed"
	} else if _, err := os.Stat(images.DefaultBusyboxBinary); err != nil {
		skipReason = "busybox-static not installed"
	}
	if skipReason != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "skrt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	testNet, err = network.New(network.Config{PodCIDR: testCIDR, BridgeName: testBridge, StateDir: filepath.Join(dir, "net")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testNet.DeleteBridge()
	testCgRoot = "/skiff-test-" + filepath.Base(dir) + "/kubepods"
	defer removeCgroupTree(filepath.Dir(testCgRoot))
	testRT, err = New(ctx, Config{
		DataDir:    dir,
		CgroupRoot: testCgRoot,
		Network:    testNet,
		DNS:        DNSSettings{ClusterDNS: []string{testDNS}, ClusterDomain: "cluster.local", ResolvConf: "/etc/resolv.conf"},
		NodeName:   "node-1",
		HostIPs:    []string{"192.0.2.1"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testRT.Close()
	defer func() {
		// Whatever a failed test left: every pod, netns, IP and cgroup.
		if err := testRT.Reconcile(ctx, nil); err != nil {
			fmt.Fprintln(os.Stderr, "final cleanup:", err)
		}
	}()
	img, err := images.Busybox(images.BusyboxOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := testRT.ImportImage(ctx, testImage, img); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func requireRuntime(t *testing.T) *Runtime {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return testRT
}

var podSeq int

// newPod returns a pod with a fresh UID whose containers run sh -c scripts.
func newPod(name string, initScripts, appScripts []string) *corev1.Pod {
	podSeq++
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = name, "default"
	pod.UID = types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12+int64(podSeq)))
	for i, s := range initScripts {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{
			Name: fmt.Sprintf("init%d", i), Image: testImage, Command: []string{"sh", "-c", s}})
	}
	for i, s := range appScripts {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("app%d", i), Image: testImage, Command: []string{"sh", "-c", s}})
	}
	return pod
}

// runPod runs pod and removes it when the test ends.
func runPod(t *testing.T, pod *corev1.Pod) *Sandbox {
	t.Helper()
	rt := requireRuntime(t)
	t.Cleanup(func() {
		if err := rt.RemovePod(context.Background(), pod.UID); err != nil {
			t.Errorf("remove pod: %v", err)
		}
	})
	sb, err := rt.RunPod(context.Background(), pod, RunPodOptions{})
	if err != nil {
		t.Fatalf("run pod: %v", err)
	}
	return sb
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s; last: %s", what, timeout, last)
}

// fileHolds waits until path contains want.
func fileHolds(t *testing.T, path, want string) {
	t.Helper()
	eventually(t, 10*time.Second, path+" holds "+want, func() (bool, string) {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), want), fmt.Sprintf("%q %v", b, err)
	})
}

func emptyDirPath(rt *Runtime, pod *corev1.Pod, name string) string {
	return filepath.Join(rt.PodDir(pod.UID), "volumes", emptyDirPlugin, name)
}

func withEmptyDir(pod *corev1.Pod, name, mountPath string) {
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	add := func(cs []corev1.Container) {
		for i := range cs {
			cs[i].VolumeMounts = append(cs[i].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: mountPath})
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
}
