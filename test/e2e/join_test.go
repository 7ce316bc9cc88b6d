package e2e

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/certs"
	"github.com/skiff-dev/skiff/cluster/bootstrap"
	"github.com/skiff-dev/skiff/cluster/hostnet"
	"github.com/skiff-dev/skiff/internal/netns"
	"github.com/skiff-dev/skiff/kubelet/certificate"
	"github.com/skiff-dev/skiff/kubelet/network"
)

// The join test's node network: a test-only subnet, the control plane on
// the bridge's address, the node in its own network namespace.
const (
	joinSubnet      = "172.31.231.0/24"
	joinClusterCIDR = "10.231.0.0/16"
	joinNode        = "join-node"
	// The node's cgroup caps what it may use; its capacity must say so.
	joinMemoryLimit = 512 << 20
	joinCPUQuotaUS  = 150000 // per 100000: 1500m
)

// startInNetNS starts a skiff subcommand inside the network namespace at
// nsPath, as its own process group.
func startInNetNS(t *testing.T, nsPath string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(skiffBinary, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	exited, err := netns.Start(nsPath, cmd)
	if err != nil {
		t.Fatalf("start skiff %v in %s: %v", args, nsPath, err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = <-exited
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// joinCluster is a `skiff server` on a bridge and a node namespace.
type joinCluster struct {
	api       *apiServer
	client    kubernetes.Interface
	hn        *hostnet.Network
	node      *hostnet.Node
	cgroup    string // the node's cgroup, relative to each hierarchy
	joinLine  []string
	tokenID   string
	pinDir    string
	proxyCg   string
	cgMounts  []string
	leftovers func() []string
}

// startJoinCluster brings up the network, a limited node cgroup and the
// control plane, and creates a token with `skiff token create
// --print-join-command`.
func startJoinCluster(t *testing.T) *joinCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("joining needs root (namespaces, bridge, containerd, cgroups, BPF)")
	}
	for _, bin := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (hack/install-deps.sh installs it)", bin)
		}
	}
	pid := os.Getpid()
	c := &joinCluster{
		cgroup: fmt.Sprintf("/skiff-join-%d", pid),
		// bpffs is mounted there by the proxy (and unmounted by the test).
		pinDir:  filepath.Join(t.TempDir(), "bpf"),
		proxyCg: fmt.Sprintf("/sys/fs/cgroup/unified/skiff-join-%d", pid),
	}
	_, subnet, _ := netutils.ParseCIDRSloppy(joinSubnet)
	hn, err := hostnet.New(hostnet.Config{Cluster: fmt.Sprintf("join-e2e-%d", pid), StateDir: t.TempDir(), Subnets: []*net.IPNet{subnet}})
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last: once every process is gone,
	// nothing of the node may be left.
	t.Cleanup(func() {
		if err := hn.Teardown(); err != nil {
			t.Errorf("tear down the node network: %v", err)
		}
		c.removeCgroups(t)
		if left := c.leftovers(); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	c.leftovers = func() []string {
		left := hn.Leftovers()
		for _, dir := range c.cgroupDirs() {
			if dirExists(dir) {
				left = append(left, dir)
			}
		}
		if isBPFFS(c.pinDir) {
			left = append(left, "bpffs mount "+c.pinDir)
		}
		return append(left, processesMentioning(fmt.Sprintf("skj%d", pid))...)
	}
	c.hn = hn
	if err := hn.EnsureBridge(); err != nil {
		t.Fatal(err)
	}
	if c.node, err = hn.EnsureNode(0, joinNode); err != nil {
		t.Fatal(err)
	}
	c.limitNodeCgroup(t)
	if err := os.MkdirAll(c.proxyCg, 0o755); err != nil {
		t.Fatal(err)
	}

	// The control plane listens on the bridge, reachable from the node.
	host := hn.HostIPs()[0].String()
	dir, port := t.TempDir(), freePort(t)
	pki := filepath.Join(dir, "pki")
	// The CA exists before the server so that the server can check
	// kubelets' serving certificates with it: logs then only work with a
	// serving certificate the cluster signed (from a kubelet-serving CSR).
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "server", "--data-dir", dir, "--secure-port", strconv.Itoa(port), "--bind-address", host, "--advertise-address", host,
		"--cluster-cidr", joinClusterCIDR, "--kubelet-certificate-authority", ca.CertFile)
	c.api = &apiServer{process: p, dataDir: dir, port: port, url: "https://" + net.JoinHostPort(host, strconv.Itoa(port))}
	waitReady(t, c.api.url, p)
	c.client = c.api.client(t)
	if err := bootstrap.EnsureJoinRBAC(context.Background(), c.client); err != nil {
		t.Fatalf("EnsureJoinRBAC: %v", err)
	}
	out, err := exec.Command(skiffBinary, "token", "create", "--print-join-command", "--kubeconfig", c.api.kubeconfig()).CombinedOutput()
	if err != nil {
		t.Fatalf("skiff token create --print-join-command: %v\n%s", err, out)
	}
	c.joinLine = strings.Fields(strings.TrimSpace(string(out)))
	if len(c.joinLine) != 8 || c.joinLine[0] != "skiff" || c.joinLine[1] != "join" || c.joinLine[3] != c.api.url {
		t.Fatalf("join command %q, want skiff join --server %s --token ... --discovery-token-ca-cert-hash ...", out, c.api.url)
	}
	c.tokenID, _, _ = strings.Cut(c.joinLine[5], ".")
	return c
}

// limitNodeCgroup gives the node's cgroup a memory limit and a CPU quota
// in the cgroup v1 hierarchies.
func (c *joinCluster) limitNodeCgroup(t *testing.T) {
	t.Helper()
	mem, cpu := filepath.Join("/sys/fs/cgroup/memory", c.cgroup), filepath.Join("/sys/fs/cgroup/cpu", c.cgroup)
	if !dirExists("/sys/fs/cgroup/memory") || !dirExists("/sys/fs/cgroup/cpu") {
		t.Skip("needs the cgroup v1 memory and cpu hierarchies")
	}
	for dir, files := range map[string][][2]string{
		mem: {{"memory.limit_in_bytes", strconv.Itoa(joinMemoryLimit)}},
		cpu: {{"cpu.cfs_period_us", "100000"}, {"cpu.cfs_quota_us", strconv.Itoa(joinCPUQuotaUS)}},
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0o644); err != nil {
				t.Fatalf("write %s of %s: %v", f[0], dir, err)
			}
		}
	}
}

// cgroupDirs are the node's cgroup in every hierarchy, and the proxy's.
func (c *joinCluster) cgroupDirs() []string {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", c.cgroup))
	return append(dirs, c.proxyCg)
}

// removeCgroups removes the node's cgroup trees, children first.
func (c *joinCluster) removeCgroups(t *testing.T) {
	for _, root := range c.cgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil {
				t.Errorf("remove cgroup %s (a process left in it?): %v", dirs[i], err)
			}
		}
	}
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	self := strconv.Itoa(os.Getpid())
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 || strings.Split(p, "/")[2] == self {
			continue
		}
		if cmdline := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmdline, s) {
			out = append(out, fmt.Sprintf("process %s: %s", strings.Split(p, "/")[2], cmdline))
		}
	}
	return out
}

// joinArgs is the printed join command with the first node's own flags.
func (c *joinCluster) joinArgs(dataDir string, extra ...string) []string {
	args := append([]string{}, c.joinLine[1:]...)
	args = append(args, "--node-name", joinNode, "--data-dir", dataDir, "--node-ip", c.node.IPs[0].String(),
		"--cgroup-root", c.cgroup+"/kubepods", "--bridge-name", "skj0", "--pod-network-routes", "auto",
		"--proxy-bpf-pin-dir", c.pinDir, "--proxy-cgroup-path", c.proxyCg, "--resolv-conf", "")
	return append(args, extra...)
}

// waitNodeReady waits until the Node is Ready while p runs.
func (c *joinCluster) waitNodeReady(t *testing.T, name string, p *process) {
	t.Helper()
	pollE2E(t, 60*time.Second, name+" Ready", func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("skiff join exited: %v\n%s", p.err, tail(p.out.String(), 40))
		}
		n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
}

// podRoutes are the routes the kubelet's router owns in a node namespace.
func podRoutes(t *testing.T, nsPath string) []netlink.Route {
	t.Helper()
	var routes []netlink.Route
	if err := netns.Do(nsPath, func() (err error) {
		routes, err = netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: network.RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return routes
}

// TestJoin joins a node in its own network namespace with the printed
// `skiff join` line: the node gets its client certificate by CSR, its
// serving certificate by kubelet-serving CSR, becomes Ready with the
// capacity its cgroup allows, runs a pod whose logs come through the API
// server, and runs its proxy; nothing is left afterwards. A wrong CA pin
// fails at once with one clear line and leaves nothing behind.
func TestJoin(t *testing.T) {
	c := startJoinCluster(t)
	ctx := context.Background()

	t.Run("wrong CA hash", func(t *testing.T) {
		dataDir := filepath.Join(os.TempDir(), fmt.Sprintf("skj%d-bad", os.Getpid()))
		t.Cleanup(func() { os.RemoveAll(dataDir) })
		args := c.joinArgs(dataDir)
		args[6] = "sha256:" + strings.Repeat("0", 64)
		p := startInNetNS(t, c.node.NetNS, args...)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("skiff join with a wrong CA hash still runs after 30s:\n%s", p.out.String())
		}
		if p.err == nil {
			t.Fatalf("skiff join with a wrong CA hash succeeded:\n%s", p.out.String())
		}
		var errLines []string
		for _, l := range strings.Split(p.out.String(), "\n") {
			if strings.Contains(l, "refusing to trust") {
				errLines = append(errLines, l)
			}
		}
		if len(errLines) != 1 || !strings.Contains(errLines[0], "matches no --discovery-token-ca-cert-hash") || !strings.Contains(errLines[0], c.joinLine[7]) {
			t.Errorf("want one line saying the CA %s matches no pin, got:\n%s", c.joinLine[7], p.out.String())
		}
		if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
			t.Errorf("a failed join left files in %s: %v", dataDir, entries)
		}
		csrs, err := c.client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(csrs.Items) != 0 {
			t.Errorf("a failed join created %d CSRs", len(csrs.Items))
		}
		if _, err := c.client.CoreV1().Nodes().Get(ctx, joinNode, metav1.GetOptions{}); err == nil {
			t.Error("a failed join registered the node")
		}
	})

	// Short: the containerd socket path under it must fit a unix socket.
	dataDir, err := os.MkdirTemp("", fmt.Sprintf("skj%d-", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	join := startInNetNS(t, c.node.NetNS, c.joinArgs(dataDir, "--port", "10250")...)
	// The proxy's pins and hooks stay for a restarted proxy: clean them
	// once the node has stopped.
	t.Cleanup(func() {
		out, err := exec.Command(skiffBinary, "proxy", "--cleanup", "--bpf-pin-dir", c.pinDir, "--cgroup-path", c.proxyCg).CombinedOutput()
		if err != nil {
			t.Errorf("skiff proxy --cleanup: %v\n%s", err, out)
		}
		if pins := pinned(c.pinDir); len(pins) > 0 {
			t.Errorf("pins left after skiff proxy --cleanup: %v", pins)
		}
		if isBPFFS(c.pinDir) {
			if err := unix.Unmount(c.pinDir, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", c.pinDir, err)
			}
		}
	})
	// Pods go before the node stops, so that its kubelet tears them down.
	t.Cleanup(func() {
		_ = c.client.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		pollE2E(t, 60*time.Second, "pods deleted", func(ctx context.Context) (bool, error) {
			pods, err := c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			return err == nil && len(pods.Items) == 0, err
		})
		join.stop(t)
	})

	c.waitNodeReady(t, joinNode, join)

	t.Run("client certificate from an approved CSR", func(t *testing.T) {
		kc, err := clientcmd.LoadFromFile(filepath.Join(dataDir, "kubelet.kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		var certFile string
		for _, a := range kc.AuthInfos {
			certFile = a.ClientCertificate
		}
		cert := parseCertFile(t, certFile)
		if cert.Subject.CommonName != "system:node:"+joinNode || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "system:nodes" {
			t.Errorf("kubeconfig's certificate is for %s %v", cert.Subject.CommonName, cert.Subject.Organization)
		}
		client := csrBy(t, c.client, certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:"+c.tokenID)
		if !issued(client) {
			t.Errorf("client CSR %s: %+v", client.Name, client.Status.Conditions)
		}
	})
	t.Run("capacity from the node's cgroup", func(t *testing.T) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, joinNode, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cpu, mem := n.Status.Capacity[corev1.ResourceCPU], n.Status.Capacity[corev1.ResourceMemory]
		if cpu.MilliValue() != joinCPUQuotaUS/100 || mem.Value() != joinMemoryLimit {
			t.Errorf("capacity cpu %s memory %s, want %dm and %d", cpu.String(), mem.String(), joinCPUQuotaUS/100, joinMemoryLimit)
		}
		if len(n.Spec.PodCIDRs) == 0 {
			t.Errorf("node has no podCIDR from %s", joinClusterCIDR)
		}
	})
	t.Run("pod logs through the serving certificate", func(t *testing.T) {
		out, err := exec.Command(skiffBinary, "image", "build-busybox", "--data-dir", dataDir).CombinedOutput()
		if err != nil {
			t.Fatalf("skiff image build-busybox: %v\n%s", err, out)
		}
		run := kubectlRunner([]string{skiffBinary, "kubectl"}, c.api.kubeconfig())
		pod := `apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: skiff.dev/busybox:static
    command: ["sh", "-c", "echo hello-from-` + joinNode + `; exec sleep 3600"]
`
		if out, err := run(pod, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		if out, err := run("", "wait", "--for=condition=Ready", "pod/hello", "--timeout=40s"); err != nil {
			t.Fatalf("kubectl wait: %v\n%s\n%s", err, out, tail(join.out.String(), 30))
		}
		pollE2E(t, 20*time.Second, "kubectl logs", func(ctx context.Context) (bool, error) {
			out, err := run("", "logs", "hello")
			if err != nil {
				return false, fmt.Errorf("%v: %s", err, out)
			}
			if strings.TrimSpace(out) != "hello-from-"+joinNode {
				return false, fmt.Errorf("logs %q", out)
			}
			return true, nil
		})
		p, err := c.client.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != joinNode {
			t.Errorf("pod scheduled to %q", p.Spec.NodeName)
		}
		serving := csrBy(t, c.client, certificatesv1.KubeletServingSignerName, "system:node:"+joinNode)
		if !issued(serving) {
			t.Errorf("serving CSR %s: %+v", serving.Name, serving.Status.Conditions)
		}
		// The kubelet presents that certificate.
		leaf := parseCertFile(t, filepath.Join(dataDir, "pki", "kubelet-server-current.pem"))
		if leaf.Issuer.CommonName != "skiff-ca" || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(c.node.IPs[0]) {
			t.Errorf("serving certificate from %s for %v", leaf.Issuer.CommonName, leaf.IPAddresses)
		}
	})
	t.Run("pods of a second node are reached through the routes", func(t *testing.T) {
		const node2, web = "join-node-2", "web2"
		n2, err := c.hn.EnsureNode(1, node2)
		if err != nil {
			t.Fatal(err)
		}
		dataDir2, err := os.MkdirTemp("", fmt.Sprintf("skj%d-", os.Getpid()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dataDir2) })
		args := append([]string{}, c.joinLine[1:]...)
		args = append(args, "--node-name", node2, "--data-dir", dataDir2, "--node-ip", n2.IPs[0].String(),
			"--cgroup-root", c.cgroup+"/n2/kubepods", "--bridge-name", "skj0", "--pod-network-routes", "auto",
			"--proxy=false", "--resolv-conf", "")
		join2 := startInNetNS(t, n2.NetNS, args...)
		// Its pod goes while it runs, then the node itself.
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			_ = c.client.CoreV1().Pods("default").Delete(ctx, web, metav1.DeleteOptions{})
			pollE2E(t, 30*time.Second, web+" deleted", func(ctx context.Context) (bool, error) {
				_, err := c.client.CoreV1().Pods("default").Get(ctx, web, metav1.GetOptions{})
				return err != nil, nil
			})
			join2.stop(t)
			if err := c.client.CoreV1().Nodes().Delete(ctx, node2, metav1.DeleteOptions{}); err != nil {
				t.Errorf("delete node %s: %v", node2, err)
			}
		}
		t.Cleanup(stop)
		c.waitNodeReady(t, node2, join2)
		if out, err := exec.Command(skiffBinary, "image", "build-busybox", "--data-dir", dataDir2).CombinedOutput(); err != nil {
			t.Fatalf("skiff image build-busybox: %v\n%s", err, out)
		}
		run := kubectlRunner([]string{skiffBinary, "kubectl"}, c.api.kubeconfig())
		pod := `apiVersion: v1
kind: Pod
metadata:
  name: ` + web + `
spec:
  nodeName: ` + node2 + `
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: skiff.dev/busybox:static
    command: ["sh", "-c", "mkdir -p /www && echo served-by-` + node2 + ` > /www/index.html && exec httpd -f -p 8080 -h /www"]
`
		if out, err := run(pod, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		if out, err := run("", "wait", "--for=condition=Ready", "pod/"+web, "--timeout=40s"); err != nil {
			t.Fatalf("kubectl wait: %v\n%s\n%s", err, out, tail(join2.out.String(), 30))
		}
		p, err := c.client.CoreV1().Pods("default").Get(ctx, web, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.client.CoreV1().Nodes().Get(ctx, node2, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The first node routes node-2's podCIDR via node-2's IP (both on
		// the bridge's subnet: host-gw).
		pollE2E(t, 20*time.Second, "route to "+node2+"'s pods on "+joinNode, func(context.Context) (bool, error) {
			routes := podRoutes(t, c.node.NetNS)
			for _, r := range routes {
				if r.Dst != nil && r.Dst.String() == n.Spec.PodCIDR && r.Gw.Equal(n2.IPs[0]) {
					return true, nil
				}
			}
			return false, fmt.Errorf("routes %v", routes)
		})
		// A pod of the first node reaches it (busybox wget: no -T, see
		// notes/containerd.md).
		url := "http://" + net.JoinHostPort(p.Status.PodIP, "8080") + "/index.html"
		pollE2E(t, 20*time.Second, "hello on "+joinNode+" fetches "+url, func(context.Context) (bool, error) {
			out, err := run("", "exec", "hello", "--", "wget", "-qO-", url)
			if err != nil || strings.TrimSpace(out) != "served-by-"+node2 {
				return false, fmt.Errorf("%v: %q", err, out)
			}
			return true, nil
		})
		// The node leaves: its route goes.
		stop()
		pollE2E(t, 20*time.Second, "route to "+node2+"'s pods removed", func(context.Context) (bool, error) {
			if routes := podRoutes(t, c.node.NetNS); len(routes) > 0 {
				return false, fmt.Errorf("routes %v", routes)
			}
			return true, nil
		})
		if err := c.hn.RemoveNode(node2); err != nil {
			t.Errorf("remove %s's namespace: %v", node2, err)
		}
	})
	t.Run("skiff kubelet bootstraps with --bootstrap-kubeconfig", func(t *testing.T) {
		// As `skiff up` starts node kubelets: no join, the flags alone.
		const node3 = "join-node-3"
		n3, err := c.hn.EnsureNode(2, node3)
		if err != nil {
			t.Fatal(err)
		}
		dataDir3, err := os.MkdirTemp("", fmt.Sprintf("skj%d-", os.Getpid()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dataDir3) })
		caPEM, err := os.ReadFile(filepath.Join(c.api.dataDir, "pki", "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		bootstrapKC := filepath.Join(dataDir3, "bootstrap.kubeconfig")
		if err := certificate.WriteBootstrapKubeconfig(bootstrapKC, c.api.url, caPEM, c.joinLine[5]); err != nil {
			t.Fatal(err)
		}
		kc, certDir := filepath.Join(dataDir3, "kubelet.kubeconfig"), filepath.Join(dataDir3, "certs")
		kubelet := startInNetNS(t, n3.NetNS, "kubelet", "--bootstrap-kubeconfig", bootstrapKC, "--kubeconfig", kc, "--cert-dir", certDir,
			"--rotate-certificates", "--rotate-server-certificates", "--node-name", node3, "--data-dir", filepath.Join(dataDir3, "data"),
			"--node-ip", n3.IPs[0].String(), "--cgroup-root", c.cgroup+"/n3/kubepods", "--bridge-name", "skj0",
			"--pod-network-routes", "auto", "--resolv-conf", "")
		t.Cleanup(func() {
			kubelet.stop(t)
			if err := c.client.CoreV1().Nodes().Delete(ctx, node3, metav1.DeleteOptions{}); err != nil {
				t.Errorf("delete node %s: %v", node3, err)
			}
			if err := c.hn.RemoveNode(node3); err != nil {
				t.Errorf("remove %s's namespace: %v", node3, err)
			}
		})
		c.waitNodeReady(t, node3, kubelet)
		cfg, err := clientcmd.LoadFromFile(kc)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range cfg.AuthInfos {
			if cert := parseCertFile(t, a.ClientCertificate); cert.Subject.CommonName != "system:node:"+node3 || filepath.Dir(a.ClientCertificate) != certDir {
				t.Errorf("kubeconfig's certificate %s is for %s", a.ClientCertificate, cert.Subject.CommonName)
			}
		}
		pollE2E(t, 20*time.Second, "serving certificate of "+node3, func(context.Context) (bool, error) {
			if _, err := os.Stat(filepath.Join(certDir, "kubelet-server-current.pem")); err != nil {
				return false, err
			}
			return true, nil
		})
		if csr := csrBy(t, c.client, certificatesv1.KubeletServingSignerName, "system:node:"+node3); !issued(csr) {
			t.Errorf("serving CSR %s: %+v", csr.Name, csr.Status.Conditions)
		}
	})
	t.Run("proxy runs with the node's credentials", func(t *testing.T) {
		pollE2E(t, 20*time.Second, "proxy /healthz in the node", func(ctx context.Context) (bool, error) {
			var code int
			// Dialled on the thread that entered the namespace (an
			// http.Client would dial from another one).
			err := netns.Do(c.node.NetNS, func() error {
				conn, err := net.DialTimeout("tcp", "127.0.0.1:10256", 2*time.Second)
				if err != nil {
					return err
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := conn.Write([]byte("GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")); err != nil {
					return err
				}
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					return err
				}
				resp.Body.Close()
				code = resp.StatusCode
				return nil
			})
			if err != nil {
				return false, err
			}
			if code != http.StatusOK {
				return false, fmt.Errorf("status %d", code)
			}
			return true, nil
		})
		if !isBPFFS(c.pinDir) || len(pinned(c.pinDir)) == 0 {
			t.Errorf("the proxy pinned nothing under %s", c.pinDir)
		}
	})
}

// pinned lists what is pinned under a bpffs dir, without the kernel's own
// maps.debug and progs.debug.
func pinned(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".debug") {
			out = append(out, e.Name())
		}
	}
	return out
}

func isBPFFS(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}

// csrBy is the CSR of signer that user made.
func csrBy(t *testing.T, client kubernetes.Interface, signer, user string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csrs, err := client.CertificatesV1().CertificateSigningRequests().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range csrs.Items {
		if csrs.Items[i].Spec.SignerName == signer && csrs.Items[i].Spec.Username == user {
			return &csrs.Items[i]
		}
	}
	t.Fatalf("no %s CSR by %s among %d", signer, user, len(csrs.Items))
	return nil
}

func issued(csr *certificatesv1.CertificateSigningRequest) bool {
	approved := false
	for _, c := range csr.Status.Conditions {
		approved = approved || c.Type == certificatesv1.CertificateApproved
	}
	return approved && len(csr.Status.Certificate) > 0
}

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			t.Fatal(errors.New("no certificate in " + path))
		}
		if b.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return cert
		}
	}
}
