package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/kubelet/images"
	"github.com/skiff-dev/skiff/kubelet/network"
)

// podLeftovers lists what remains on the host of a pod.
func podLeftovers(t *testing.T, rt *Runtime, uid types.UID, sb *Sandbox) []string {
	t.Helper()
	var left []string
	cs, err := rt.client.Containers(rt.ns(context.Background()), `labels."`+LabelPodUID+`"==`+string(uid))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) > 0 {
		left = append(left, "containers")
	}
	if _, err := os.Stat(sb.NetNSPath); err == nil {
		left = append(left, "netns "+sb.NetNSPath)
	}
	ids, err := testNet.Sandboxes()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id == sb.ID {
			left = append(left, "network state (IP) of "+id)
		}
	}
	if _, err := os.Stat(rt.PodDir(uid)); err == nil {
		left = append(left, "pod dir")
	}
	cgs, err := podCgroupUIDs(rt.cfg.CgroupRoot)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cgs[uid]; ok {
		left = append(left, "pod cgroup")
	}
	return left
}

func TestStopAndRemovePodLeaveNothing(t *testing.T) {
	pod := newPod("teardown", nil, []string{"trap 'exit 0' TERM; sleep 3600 & wait", "exec sleep 3600"})
	pod.Spec.Volumes = []corev1.Volume{{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	pod.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "mem", MountPath: "/mem"}}
	sb := runPod(t, pod)
	rt := testRT
	ctx := context.Background()
	if !isMountPoint(emptyDirPath(rt, pod, "mem")) {
		t.Fatal("memory emptyDir is not a tmpfs mount")
	}

	start := time.Now()
	const grace = 2 * time.Second
	if err := rt.StopPod(ctx, pod.UID, grace); err != nil {
		t.Fatal(err)
	}
	// sleep as PID 1 ignores SIGTERM, so it is killed once grace is over.
	if d := time.Since(start); d < grace || d > grace+3*time.Second {
		t.Errorf("StopPod took %s; want the grace period (%s) and little more", d, grace)
	}
	sts, err := rt.ListPodContainers(ctx, pod.UID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.State != ContainerExited {
			t.Errorf("%s is %s after StopPod", st.Name, st.State)
		}
	}
	if sts[0].ExitCode != 0 || sts[1].ExitCode != 137 {
		t.Errorf("exit codes %d, %d; want 0 (handled TERM) and 137 (killed)", sts[0].ExitCode, sts[1].ExitCode)
	}
	if _, err := os.Stat(sb.NetNSPath); err == nil {
		t.Error("netns still present after StopPod")
	}
	if err := rt.RemovePod(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	if left := podLeftovers(t, rt, pod.UID, sb); len(left) > 0 {
		t.Errorf("after RemovePod: %v", left)
	}
}

func TestReconcileRemovesPodsNoLongerWanted(t *testing.T) {
	keep := newPod("keep", nil, []string{"exec sleep 3600"})
	gone := newPod("gone", nil, []string{"exec sleep 3600"})
	keepSB := runPod(t, keep)
	goneSB := runPod(t, gone)
	rt := testRT
	// A crash between network setup and the sandbox container leaves a
	// netns and an IP nobody owns.
	if _, err := testNet.SetUp(context.Background(), "orphan0", network.PodRef{Namespace: "default", Name: "orphan", UID: "orphan"}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Reconcile(context.Background(), map[types.UID]bool{keep.UID: true}); err != nil {
		t.Fatal(err)
	}
	if left := podLeftovers(t, rt, gone.UID, goneSB); len(left) > 0 {
		t.Errorf("unwanted pod left: %v", left)
	}
	ids, _ := testNet.Sandboxes()
	for _, id := range ids {
		if id == "orphan0" {
			t.Error("orphan network state survived reconcile")
		}
	}
	if !rt.SandboxReady(context.Background(), keepSB) {
		t.Error("wanted pod's sandbox is no longer ready")
	}
	sts, err := rt.ListPodContainers(context.Background(), keep.UID)
	if err != nil || len(sts) != 1 || sts[0].State != ContainerRunning {
		t.Errorf("wanted pod's containers = %v, %v", sts, err)
	}
}

func TestImagePullFromRegistry(t *testing.T) {
	rt := requireRuntime(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := images.Busybox(images.BusyboxOptions{Cmd: []string{"echo", "pulled"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/skiff/busybox:v1"
	tag, _ := name.NewTag(ref, name.Insecure)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Cleanup(func() { _ = rt.RemoveImage(ctx, ref) })

	if _, err := rt.EnsureImage(ctx, ref, corev1.PullNever, nil); !isReason(err, ReasonErrImageNeverPull) {
		t.Fatalf("Never on a missing image: %v", err)
	}
	got, err := rt.EnsureImage(ctx, ref, corev1.PullIfNotPresent, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got.ID != want.String() || got.Name != ref {
		t.Errorf("pulled %+v, want %s %s", got, ref, want)
	}
	if _, err := rt.EnsureImage(ctx, ref, corev1.PullNever, nil); err != nil {
		t.Errorf("Never on a present image: %v", err)
	}
	if _, err := rt.EnsureImage(ctx, host+"/skiff/missing:v1", corev1.PullAlways, nil); !isReason(err, ReasonErrImagePull) {
		t.Errorf("pull of a missing image: %v", err)
	}

	// The pulled image runs.
	pod := newPod("pulled", nil, nil)
	pod.Spec.Containers = []corev1.Container{{Name: "c", Image: ref, ImagePullPolicy: corev1.PullIfNotPresent}}
	runPod(t, pod)
	sts, err := rt.ListPodContainers(ctx, pod.UID)
	if err != nil || len(sts) != 1 {
		t.Fatalf("containers %v, %v", sts, err)
	}
	fileHolds(t, sts[0].LogPath, " stdout F pulled\n")
}

func isReason(err error, reason string) bool {
	var ie *ImageError
	return errors.As(err, &ie) && ie.Reason == reason
}

func TestImportArchives(t *testing.T) {
	rt := requireRuntime(t)
	ctx := context.Background()
	img, err := images.Busybox(images.BusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ref, stored string
		write             func(*bytes.Buffer) error
	}{
		{"docker", "local/busybox:docker", "docker.io/local/busybox:docker", func(b *bytes.Buffer) error {
			return images.WriteDockerArchive(b, "local/busybox:docker", img)
		}},
		{"oci", "skiff.local/busybox:oci", "skiff.local/busybox:oci", func(b *bytes.Buffer) error {
			return images.WriteOCIArchive(b, "skiff.local/busybox:oci", img)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.RemoveImage(ctx, tc.stored) })
			got, err := rt.ImportArchive(ctx, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Name != tc.stored {
				t.Fatalf("imported %+v, want %s", got, tc.stored)
			}
			if _, err := rt.GetImage(ctx, tc.ref); err != nil {
				t.Errorf("GetImage(%s): %v", tc.ref, err)
			}
		})
	}
	if _, err := rt.GetImage(ctx, "skiff.local/none:1"); !errdefs.IsNotFound(err) {
		t.Errorf("missing image: %v, want NotFound", err)
	}
}

func TestSupervisorRestartsContainerd(t *testing.T) {
	rt := requireRuntime(t)
	s := rt.supervisor
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "containerd restarted and serving", func() (bool, string) {
		s.mu.Lock()
		newPid := s.cmd.Process.Pid
		s.mu.Unlock()
		ok, err := rt.client.IsServing(context.Background())
		return newPid != pid && err == nil && ok, ""
	})
	if _, err := rt.GetImage(context.Background(), testImage); err != nil {
		t.Errorf("image after restart: %v", err)
	}
	cfg, err := os.ReadFile(filepath.Join(rt.cfg.DataDir, "containerd", "config.toml"))
	if err != nil || !strings.Contains(string(cfg), `disabled_plugins = ["io.containerd.grpc.v1.cri"]`) {
		t.Errorf("config.toml: %v", err)
	}
}

// TestLoopbackRegistrySchemes checks that a loopback registry is reached as
// containerd's CRI plugin reaches one without a hosts.toml: over HTTPS
// with an unverified (self-signed) certificate, and over plain HTTP after
// the HTTPS attempt is answered with HTTP.
func TestLoopbackRegistrySchemes(t *testing.T) {
	rt := requireRuntime(t)
	img, err := images.Busybox(images.BusyboxOptions{Cmd: []string{"echo", "scheme"}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	for _, tc := range []struct {
		name  string
		start func(http.Handler) *httptest.Server
		host  func(*httptest.Server) string
	}{
		{"plain HTTP on 127.0.0.1", httptest.NewServer, func(s *httptest.Server) string { return s.Listener.Addr().String() }},
		{"self-signed HTTPS on 127.0.0.1", httptest.NewTLSServer, func(s *httptest.Server) string { return s.Listener.Addr().String() }},
		{"plain HTTP on localhost", httptest.NewServer, func(s *httptest.Server) string {
			return "localhost:" + strings.Split(s.Listener.Addr().String(), ":")[1]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var schemes sync.Map
			reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			srv := tc.start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.TLS != nil {
					schemes.Store("https", true)
				} else {
					schemes.Store("http", true)
				}
				reg.ServeHTTP(w, r)
			}))
			defer srv.Close()
			ref := tc.host(srv) + "/skiff/scheme:v1"
			tag, _ := name.NewTag(ref, name.Insecure)
			if err := remote.Write(tag, img, remote.WithTransport(srv.Client().Transport)); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			t.Cleanup(func() { _ = rt.RemoveImage(ctx, ref) })
			got, err := rt.PullImage(ctx, ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.String() {
				t.Errorf("pulled %+v, want %s", got, want)
			}
			_, sawHTTP := schemes.Load("http")
			_, sawHTTPS := schemes.Load("https")
			if srv.TLS != nil && (sawHTTP || !sawHTTPS) || srv.TLS == nil && !sawHTTP {
				t.Errorf("requests seen: http %v https %v", sawHTTP, sawHTTPS)
			}
		})
	}
}
