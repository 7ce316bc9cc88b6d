package runtime

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/internal/cgroups"
)

func TestInitOrderEnvLogsAndFiles(t *testing.T) {
	pod := newPod("order", []string{
		"echo init0 >> /data/order",
		"echo init1 >> /data/order",
	}, []string{
		`echo app >> /data/order; echo "$B|$ESC|$POD_IP|$NODE" > /data/env; echo "$0 $1" > /data/args; echo hello-log; echo to-stderr >&2; cat /etc/hosts > /data/hosts; cat /etc/resolv.conf > /data/resolv; hostname > /data/hostname; exec sleep 3600`,
	})
	pod.Spec.Containers[0].Command = []string{"sh", "-c", pod.Spec.Containers[0].Command[2], "$(A)", "$$(A)"}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "A", Value: "x"},
		{Name: "B", Value: "$(A)-y-$(MISSING)"},
		{Name: "ESC", Value: "$$(A)"},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	pod.Spec.Hostname = "web"
	pod.Spec.Subdomain = "sub"
	withEmptyDir(pod, "data", "/data")
	sb := runPod(t, pod)
	rt := testRT
	dir := emptyDirPath(rt, pod, "data")

	fileHolds(t, filepath.Join(dir, "order"), "init0\ninit1\napp\n")
	podIP := sb.IPs[0].String()
	fileHolds(t, filepath.Join(dir, "env"), fmt.Sprintf("x-y-$(MISSING)|$(A)|%s|order\n", podIP))
	fileHolds(t, filepath.Join(dir, "args"), "x $(A)\n")
	fileHolds(t, filepath.Join(dir, "hosts"), fmt.Sprintf("%s\tweb.sub.default.svc.cluster.local\tweb\n", podIP))
	fileHolds(t, filepath.Join(dir, "resolv"), "search default.svc.cluster.local svc.cluster.local cluster.local")
	fileHolds(t, filepath.Join(dir, "resolv"), "nameserver "+testDNS+"\noptions ndots:5\n")
	fileHolds(t, filepath.Join(dir, "hostname"), "web\n")

	sts, err := rt.ListPodContainers(context.Background(), pod.UID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var app *ContainerStatus
	for _, st := range sts {
		names = append(names, fmt.Sprintf("%s/%s/%s", st.Name, st.Type, st.State))
		if st.Name == "app0" {
			app = st
		}
	}
	if got, want := strings.Join(names, " "), "init0/init/Exited init1/init/Exited app0/regular/Running"; got != want {
		t.Errorf("containers = %s, want %s", got, want)
	}
	if app == nil || app.StartedAt.IsZero() || app.ImageID == "" || app.PID == 0 {
		t.Fatalf("app status = %+v", app)
	}
	for _, st := range sts[:2] {
		if st.ExitCode != 0 || st.Reason != ReasonCompleted || st.FinishedAt.Before(st.StartedAt) {
			t.Errorf("init status = %+v", st)
		}
	}

	line := regexp.MustCompile(`^(\S+) (stdout|stderr) F (.*)$`)
	eventually(t, 10*time.Second, "CRI log lines", func() (bool, string) {
		f, err := os.Open(app.LogPath)
		if err != nil {
			return false, err.Error()
		}
		defer f.Close()
		seen := map[string]bool{}
		s := bufio.NewScanner(f)
		for s.Scan() {
			m := line.FindStringSubmatch(s.Text())
			if m == nil {
				return false, "bad line " + s.Text()
			}
			if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
				return false, "bad time " + m[1]
			}
			seen[m[2]+" "+m[3]] = true
		}
		return seen["stdout hello-log"] && seen["stderr to-stderr"], fmt.Sprint(seen)
	})
	if want := rt.LogPath(pod, "app0", 0); app.LogPath != want {
		t.Errorf("log path %s, want %s", app.LogPath, want)
	}
}

func TestPodIPAnswersFromHost(t *testing.T) {
	pod := newPod("web", nil, []string{"mkdir -p /www && echo pod-says-hi > /www/index.html && exec httpd -f -p 8080 -h /www"})
	sb := runPod(t, pod)
	addr := net.JoinHostPort(sb.IPs[0].String(), "8080")
	eventually(t, 10*time.Second, "HTTP from the host to "+addr, func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close()
		fmt.Fprint(c, "GET /index.html HTTP/1.0\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 4096)
		n, _ := c.Read(b)
		for n > 0 && !strings.Contains(string(b[:n]), "pod-says-hi") {
			m, err := c.Read(b[n:])
			if err != nil {
				break
			}
			n += m
		}
		return strings.Contains(string(b[:n]), "pod-says-hi"), string(b[:n])
	})
}

func cgroupValue(t *testing.T, controller, rel, file string) string {
	t.Helper()
	mounts, err := cgroups.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cgroups.Controller(mounts, controller), rel, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestResourcesBecomeCgroupLimits(t *testing.T) {
	pod := newPod("limits", nil, []string{"exec sleep 3600"})
	res := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi"), corev1.ResourceCPU: resource.MustParse("500m")}
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: res, Requests: res}
	sb := runPod(t, pod)
	if want := testCgRoot + "/pod" + string(pod.UID); sb.CgroupParent != want {
		t.Errorf("Guaranteed pod cgroup = %s, want %s", sb.CgroupParent, want)
	}
	sts, err := testRT.ListPodContainers(context.Background(), pod.UID)
	if err != nil || len(sts) != 1 {
		t.Fatalf("containers %v, %v", sts, err)
	}
	ctr := sb.CgroupParent + "/" + sts[0].ID
	for _, c := range []struct{ controller, rel, file, want string }{
		{"memory", ctr, "memory.limit_in_bytes", "67108864"},
		{"cpu", ctr, "cpu.cfs_quota_us", "50000"},
		{"cpu", ctr, "cpu.cfs_period_us", "100000"},
		{"cpu", ctr, "cpu.shares", "512"},
		{"memory", sb.CgroupParent, "memory.limit_in_bytes", "67108864"},
		{"cpu", sb.CgroupParent, "cpu.cfs_quota_us", "50000"},
	} {
		if got := cgroupValue(t, c.controller, c.rel, c.file); got != c.want {
			t.Errorf("%s of %s = %s, want %s", c.file, c.rel, got, c.want)
		}
	}
	if procs := cgroupValue(t, "memory", ctr, "cgroup.procs"); !strings.Contains(procs, fmt.Sprint(sts[0].PID)) {
		t.Errorf("container PID %d not in its memory cgroup (%q)", sts[0].PID, procs)
	}
}

func TestExitCodesAndOOM(t *testing.T) {
	for _, tc := range []struct {
		name, script, limit string
		code                int32
		reason              string
	}{
		{"completed", "exit 0", "", 0, ReasonCompleted},
		{"error", "exit 3", "", 3, ReasonError},
		{"oom", "dd if=/dev/zero of=/dev/null bs=64M count=1", "16Mi", 137, ReasonOOMKilled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPod("exit-"+tc.name, nil, []string{tc.script})
			if tc.limit != "" {
				pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(tc.limit)}
			}
			runPod(t, pod)
			sts, err := testRT.ListPodContainers(context.Background(), pod.UID)
			if err != nil || len(sts) != 1 {
				t.Fatalf("containers %v, %v", sts, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := testRT.WaitContainer(ctx, sts[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != ContainerExited || st.ExitCode != tc.code || st.Reason != tc.reason {
				t.Errorf("status = %s code %d reason %s; want Exited %d %s", st.State, st.ExitCode, st.Reason, tc.code, tc.reason)
			}
			again, err := testRT.ContainerStatus(context.Background(), st.ID)
			if err != nil || again.ExitCode != tc.code || again.Reason != tc.reason || !again.FinishedAt.Equal(st.FinishedAt) {
				t.Errorf("status after finalize = %+v, %v", again, err)
			}
		})
	}
}

func TestSecurityContext(t *testing.T) {
	script := `id -u; id -g; id -G; (touch /probe && echo rootfs-rw) || echo rootfs-ro; grep CapBnd /proc/self/status; grep NoNewPrivs /proc/self/status`
	for _, tc := range []struct {
		name string
		sc   *corev1.SecurityContext
		psc  *corev1.PodSecurityContext
		want []string
	}{
		{
			name: "defaults",
			want: []string{"0\n0\n", "rootfs-rw", "CapBnd:\t00000000a80425fb", "NoNewPrivs:\t0"},
		},
		{
			name: "restricted",
			sc: &corev1.SecurityContext{
				RunAsUser: ptr.To[int64](65534), RunAsGroup: ptr.To[int64](65534),
				ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			},
			psc:  &corev1.PodSecurityContext{SupplementalGroups: []int64{1234}},
			want: []string{"65534\n65534\n", "1234", "rootfs-ro", "CapBnd:\t0000000000000400", "NoNewPrivs:\t1"},
		},
		{
			name: "privileged",
			sc:   &corev1.SecurityContext{Privileged: ptr.To(true)},
			want: []string{"rootfs-rw", "CapBnd:\t000001fffeffffff"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPod("sec-"+tc.name, nil, []string{"{ " + script + "; } > /out/result"})
			pod.Spec.Containers[0].SecurityContext = tc.sc
			pod.Spec.SecurityContext = tc.psc
			withEmptyDir(pod, "out", "/out")
			runPod(t, pod)
			for _, w := range tc.want {
				fileHolds(t, filepath.Join(emptyDirPath(testRT, pod, "out"), "result"), w)
			}
		})
	}
}

func TestRunAsNonRootRejectsRoot(t *testing.T) {
	rt := requireRuntime(t)
	pod := newPod("nonroot", nil, []string{"true"})
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}
	t.Cleanup(func() { _ = rt.RemovePod(context.Background(), pod.UID) })
	_, err := rt.RunPod(context.Background(), pod, RunPodOptions{})
	if err == nil || !strings.Contains(err.Error(), "container has runAsNonRoot and image will run as root") {
		t.Fatalf("err = %v, want the runAsNonRoot refusal", err)
	}
}

func TestSharedNamespaces(t *testing.T) {
	pod := newPod("shared", nil, []string{
		"exec sleep 3600",
		"sleep 1; ps -o comm > /out/ps; hostname > /out/hostname; exec sleep 3600",
	})
	pod.Spec.ShareProcessNamespace = ptr.To(true)
	withEmptyDir(pod, "out", "/out")
	runPod(t, pod)
	dir := emptyDirPath(testRT, pod, "out")
	// The other container's sleep and the sandbox's shell are visible.
	fileHolds(t, filepath.Join(dir, "ps"), "sleep")
	fileHolds(t, filepath.Join(dir, "hostname"), "shared\n")
	b, _ := os.ReadFile(filepath.Join(dir, "ps"))
	if strings.Count(string(b), "sleep") < 2 {
		t.Errorf("ps in a shared PID namespace shows %q; want the sandbox's and the other container's sleep", b)
	}
}

// parentPID is the parent of process pid, from /proc/<pid>/stat.
func parentPID(t *testing.T, pid uint32) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	var ppid int
	if _, err := fmt.Sscan(f[1], &ppid); err != nil {
		t.Fatalf("parse %s: %v", b, err)
	}
	return ppid
}

// TestOneShimPerPod: a pod's sandbox and containers are children of one
// runc shim (grouped by the sandbox ID), and another pod has its own.
func TestOneShimPerPod(t *testing.T) {
	rt := requireRuntime(t)
	shimOf := func(pod *corev1.Pod) (int, []int) {
		sb := runPod(t, pod)
		sts, err := rt.ListPodContainers(context.Background(), pod.UID)
		if err != nil {
			t.Fatal(err)
		}
		shim := parentPID(t, sb.PID)
		var others []int
		for _, st := range sts {
			if st.State != ContainerRunning || st.PID == 0 {
				t.Fatalf("container %s = %+v, want running", st.Name, st)
			}
			others = append(others, parentPID(t, st.PID))
		}
		return shim, others
	}
	a := newPod("shim-a", nil, []string{"exec sleep 3600", "exec sleep 3600"})
	b := newPod("shim-b", nil, []string{"exec sleep 3600"})
	shimA, ofA := shimOf(a)
	shimB, ofB := shimOf(b)
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", shimA))
	if err != nil || !strings.Contains(string(cmd), "containerd-shim-runc-v2") {
		t.Fatalf("parent of pod a's sandbox (%d) is %q (%v), want a runc v2 shim", shimA, cmd, err)
	}
	for i, p := range ofA {
		if p != shimA {
			t.Errorf("pod a: container %d's shim = %d, want the sandbox's %d", i, p, shimA)
		}
	}
	for i, p := range ofB {
		if p != shimB {
			t.Errorf("pod b: container %d's shim = %d, want the sandbox's %d", i, p, shimB)
		}
	}
	if shimA == shimB {
		t.Errorf("pods a and b share shim %d, want one each", shimA)
	}
}
