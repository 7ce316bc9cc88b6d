package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/certs"
	apiserver "github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/kubelet/images"
	"github.com/skiff-dev/skiff/kubelet/network"
	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// The package's tests share one containerd, pod network (own bridge and
// range), cgroup root, API server and kubelet server.
const (
	testImage    = "skiff.local/busybox:srvtest"
	testCIDR     = "10.233.41.0/24"
	testBridge   = "sksrv0"
	testNodeName = "srv-node"
)

var (
	env        *testEnv
	skipReason string
)

// testEnv is the shared fixture.
type testEnv struct {
	rt     *runtime.Runtime
	api    *testserver.TestServer
	admin  kubernetes.Interface
	srv    *Server
	url    string // https://127.0.0.1:<port>
	pods   *podSet
	pkiDir string
	// adminCfg is a client config for the kubelet with a system:masters
	// certificate from the kubelet's client CA.
	adminCfg *rest.Config
}

// podSet is a PodSource over a map.
type podSet struct {
	mu   sync.Mutex
	pods map[string]*corev1.Pod
}

func (p *podSet) GetPodByName(namespace, name string) (*corev1.Pod, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pod, ok := p.pods[namespace+"/"+name]
	return pod, ok
}

func (p *podSet) GetPods() []*corev1.Pod {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(p.pods))
	for _, pod := range p.pods {
		out = append(out, pod)
	}
	return out
}

func (p *podSet) add(pod *corev1.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pods[pod.Namespace+"/"+pod.Name] = pod
}

func (p *podSet) remove(pod *corev1.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pods, pod.Namespace+"/"+pod.Name)
}

func TestMain(m *testing.M) {
	runtime.RunLoggerIfInvoked() // the shim runs this test binary as the log writer
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
	e, cleanup, err := setUp()
	defer cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "set up:", err)
		return 1
	}
	env = e
	return m.Run()
}

func setUp() (_ *testEnv, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	dir, err := os.MkdirTemp("", "sksrv")
	if err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithCancel(context.Background())
	undo = append(undo, cancel)

	// PKI: the kubelet's client CA, the API server's kubelet client
	// certificate and an admin certificate.
	e := &testEnv{pods: &podSet{pods: map[string]*corev1.Pod{}}, pkiDir: filepath.Join(dir, "pki")}
	ca, err := certs.EnsureCA(filepath.Join(e.pkiDir, "ca.crt"), filepath.Join(e.pkiDir, "ca.key"), "kubelet-client-ca")
	if err != nil {
		return nil, cleanup, err
	}
	for _, c := range []struct{ file, cn, group string }{
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"},
		{"admin", "kubelet-admin", "system:masters"},
	} {
		if err := ca.EnsureClient(filepath.Join(e.pkiDir, c.file+".crt"), filepath.Join(e.pkiDir, c.file+".key"), c.cn, []string{c.group}); err != nil {
			return nil, cleanup, err
		}
	}

	e.api, err = testserver.Start(testserver.Options{Customize: func(o *apiserver.Options) {
		o.KubeletClientCertificate = filepath.Join(e.pkiDir, "apiserver-kubelet-client.crt")
		o.KubeletClientKey = filepath.Join(e.pkiDir, "apiserver-kubelet-client.key")
		o.KubeletPreferredAddressTypes = []string{"InternalIP"}
	}})
	if err != nil {
		return nil, cleanup, fmt.Errorf("start API server: %w", err)
	}
	undo = append(undo, func() { _ = e.api.Stop() })
	e.admin = e.api.Client()

	netw, err := network.New(network.Config{PodCIDR: testCIDR, BridgeName: testBridge, StateDir: filepath.Join(dir, "net")})
	if err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { _ = netw.DeleteBridge() })
	cgRoot := "/skiff-srvtest-" + filepath.Base(dir) + "/kubepods"
	undo = append(undo, func() { removeCgroups(filepath.Dir(cgRoot)) })
	e.rt, err = runtime.New(ctx, runtime.Config{
		DataDir:    filepath.Join(dir, "rt"),
		CgroupRoot: cgRoot,
		Network:    netw,
		DNS:        runtime.DNSSettings{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", ResolvConf: "/etc/resolv.conf"},
		NodeName:   testNodeName,
		HostIPs:    []string{"127.0.0.1"},
	})
	if err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { _ = e.rt.Close() })
	undo = append(undo, func() {
		if err := e.rt.Reconcile(context.Background(), nil); err != nil {
			fmt.Fprintln(os.Stderr, "final cleanup:", err)
		}
	})
	img, err := images.Busybox(images.BusyboxOptions{})
	if err != nil {
		return nil, cleanup, err
	}
	if _, err := e.rt.ImportImage(ctx, testImage, img); err != nil {
		return nil, cleanup, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, cleanup, err
	}
	e.srv, err = New(Config{
		Listener:             ln,
		CertDir:              filepath.Join(dir, "kubelet-pki"),
		ClientCAFile:         filepath.Join(e.pkiDir, "ca.crt"),
		Client:               e.admin,
		NodeName:             testNodeName,
		Pods:                 e.pods,
		Runtime:              e.rt,
		HousekeepingInterval: time.Second,
	})
	if err != nil {
		ln.Close()
		return nil, cleanup, err
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.Start(ctx) }()
	undo = append(undo, func() {
		cancel()
		<-done
	})
	e.url = "https://" + ln.Addr().String()
	e.adminCfg = &rest.Config{
		Host: e.url,
		TLSClientConfig: rest.TLSClientConfig{
			Insecure: true,
			CertFile: filepath.Join(e.pkiDir, "admin.crt"),
			KeyFile:  filepath.Join(e.pkiDir, "admin.key"),
		},
	}
	// Wait until it serves.
	hc, err := rest.HTTPClientFor(e.adminCfg)
	if err != nil {
		return nil, cleanup, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(e.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, cleanup, fmt.Errorf("kubelet server not healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return e, cleanup, nil
}

// removeCgroups removes the test's cgroup tree from every hierarchy.
func removeCgroups(rel string) {
	for _, h := range []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"} {
		_ = removeTree(filepath.Join("/sys/fs/cgroup", h, rel))
	}
}

func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			_ = removeTree(filepath.Join(dir, e.Name()))
		}
	}
	return os.Remove(dir)
}

func requireEnv(t *testing.T) *testEnv {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return env
}

var podSeq int

// newPod returns a pod whose containers run sh -c scripts.
func newPod(name string, scripts ...string) *corev1.Pod {
	podSeq++
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = name, "default"
	pod.UID = types.UID(fmt.Sprintf("00000000-0000-4000-9000-%012d", time.Now().UnixNano()%1e12+int64(podSeq)))
	pod.CreationTimestamp = metav1.Now()
	for i, s := range scripts {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("app%d", i), Image: testImage, Command: []string{"sh", "-c", s}})
	}
	return pod
}

// runPod runs pod, registers it with the server and removes it when the
// test ends.
func runPod(t *testing.T, pod *corev1.Pod) *runtime.Sandbox {
	t.Helper()
	e := requireEnv(t)
	t.Cleanup(func() {
		e.pods.remove(pod)
		if err := e.rt.RemovePod(context.Background(), pod.UID); err != nil {
			t.Errorf("remove pod: %v", err)
		}
	})
	sb, err := e.rt.RunPod(context.Background(), pod, runtime.RunPodOptions{})
	if err != nil {
		t.Fatalf("run pod: %v", err)
	}
	e.pods.add(pod)
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

// saToken creates service account name (bound to the kubelet API admin
// role if bind) and returns a token for it.
func saToken(t *testing.T, name string, bind bool) string {
	t.Helper()
	e := requireEnv(t)
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	if _, err := e.admin.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service account: %v", err)
	}
	if bind {
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kubelet-api-" + name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:kubelet-api-admin"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "default"}},
		}
		if _, err := e.admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind: %v", err)
		}
	}
	tr, err := e.admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authnTokenRequest, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	return tr.Status.Token
}

// insecureClient is an HTTP client that presents no credentials.
func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 30 * time.Second}
}
