package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver/certs"
	"github.com/skiff-dev/skiff/cluster/daemon"
	"github.com/skiff-dev/skiff/internal/bootstraptoken"
	"github.com/skiff-dev/skiff/internal/cgroups"
	"github.com/skiff-dev/skiff/kubelet/certificate"
)

// Up brings the cluster up, or back: every step keeps what exists and
// makes what is missing. It returns once every node is Ready and cluster
// DNS answers. A failure on a fresh cluster takes down what it made.
func (c *Cluster) Up(ctx context.Context) (retErr error) {
	if err := preflight(); err != nil {
		return err
	}
	existed, err := c.checkSavedConfig()
	if err != nil {
		return err
	}
	if !existed {
		defer func() {
			if retErr != nil {
				retErr = c.undoFailedUp(retErr)
			}
		}()
	}
	if err := c.checkNodeSubnet(); err != nil {
		return err
	}
	if c.ha() {
		if err := c.checkAPIAddress(); err != nil {
			return err
		}
	}
	if err := c.saveConfig(); err != nil {
		return err
	}
	start := time.Now()
	mounts, err := cgroups.Mounts()
	if err != nil {
		return err
	}
	c.progress("network: bridge %s, %d node namespaces", c.net.BridgeName(), len(c.nodes))
	if err := c.net.EnsureBridge(); err != nil {
		return err
	}
	for _, n := range c.nodes {
		if _, err := c.net.EnsureNode(n.index, n.name()); err != nil {
			return err
		}
		if err := c.ensureNodeCgroup(mounts, n); err != nil {
			return err
		}
	}
	c.progress("certificates: cluster CA and service-account key in %s", c.path("pki"))
	if err := c.ensurePKI(); err != nil {
		return err
	}
	if c.ha() {
		c.progress("API address %s balancing over %d API servers", c.serverURL(), len(c.controlPlanes()))
		if err := c.net.EnsureBridgeAddress(c.apiAddress()); err != nil {
			return err
		}
		if _, err := daemon.Start(c.balancerSpec(mounts)); err != nil {
			return err
		}
		// Every member first: each waits for a quorum of the others.
		c.progress("etcd: %d members", len(c.controlPlanes()))
		for _, n := range c.controlPlanes() {
			if err := c.startComponent(mounts, n, componentEtcd); err != nil {
				return err
			}
		}
	}
	c.progress("control plane: %d API server(s)", len(c.controlPlanes()))
	for _, n := range c.controlPlanes() {
		if err := c.startComponent(mounts, n, componentServer); err != nil {
			return err
		}
	}
	client, err := c.waitAPI(ctx)
	if err != nil {
		return err
	}
	if err := c.ensureClusterObjects(ctx, client); err != nil {
		return err
	}
	c.progress("cluster DNS on %s", c.controlPlanes()[0].ips[0])
	for _, n := range c.controlPlanes() {
		if err := c.startComponent(mounts, n, componentDNS); err != nil {
			return err
		}
	}
	c.progress("nodes: kubelet, containerd and proxy on %d node(s)", len(c.nodes))
	if err := c.ensureBootstrapKubeconfigs(ctx, client); err != nil {
		return err
	}
	for _, n := range c.nodes {
		if err := c.startComponent(mounts, n, componentKubelet); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.waitFile(ctx, c.kubeletKubeconfig(n), "node "+n.name()+" to get its client certificate"); err != nil {
			return err
		}
		if err := c.startComponent(mounts, n, componentProxy); err != nil {
			return err
		}
	}
	c.progress("images: busybox on every node")
	for _, n := range c.nodes {
		if err := c.loadImages(ctx, n); err != nil {
			return err
		}
	}
	c.progress("waiting for %d node(s) to be Ready and DNS to answer", len(c.nodes))
	if err := c.waitNodes(ctx, client); err != nil {
		return err
	}
	if err := c.waitDNS(ctx, client); err != nil {
		return err
	}
	if err := c.writeUserKubeconfig(); err != nil {
		return err
	}
	c.progress("cluster %q ready in %.1fs", c.cfg.Name, time.Since(start).Seconds())
	return nil
}

func (c *Cluster) path(p ...string) string {
	return filepath.Join(append([]string{c.dir}, p...)...)
}

// preflight checks what Up needs of the host, each failure one line
// saying what to do.
func preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("skiff up needs root: it makes network namespaces, cgroups and BPF programs (run it with sudo)")
	}
	for _, bin := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed: run hack/install-deps.sh (or apt-get install containerd runc)", bin)
		}
	}
	for _, p := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("the CNI plugin %s is missing: apt-get install containernetworking-plugins", p)
		}
	}
	if _, err := os.Stat("/sys/fs/bpf"); err != nil {
		return errors.New("/sys/fs/bpf is missing: this kernel has no BPF filesystem, which the Service proxy needs")
	}
	return nil
}

// checkNodeSubnet refuses a node subnet some other interface of the host
// already has an address in.
func (c *Cluster) checkNodeSubnet() error {
	subnets, err := parseCIDRs(c.cfg.Networking.NodeSubnet)
	if err != nil {
		return err
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for _, iface := range ifaces {
		if iface.Name == c.net.BridgeName() {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			for _, s := range subnets {
				if s.Contains(ipn.IP) || ipn.Contains(s.IP) {
					return fmt.Errorf("networking.nodeSubnet %s overlaps %s on %s: choose another subnet in the cluster config", s, ipn, iface.Name)
				}
			}
		}
	}
	return nil
}

// ensurePKI makes the cluster CA, service-account key and admin
// credentials, and gives every API server the same CA and key.
func (c *Cluster) ensurePKI() error {
	pki := c.path("pki")
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		return err
	}
	if err := certs.EnsureKey(filepath.Join(pki, "sa.key")); err != nil {
		return err
	}
	if err := certs.EnsurePublicKey(filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")); err != nil {
		return err
	}
	adminCert, adminKey := filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key")
	if err := ca.EnsureClient(adminCert, adminKey, "skiff-admin", []string{"system:masters"}); err != nil {
		return err
	}
	if err := certs.WriteKubeconfig(c.AdminKubeconfig(), c.contextName(), c.serverURL(), ca.CertFile, adminCert, adminKey); err != nil {
		return err
	}
	for _, n := range c.controlPlanes() {
		dst := n.path("server", "pki")
		for _, f := range []string{"ca.crt", "ca.key", "sa.key", "sa.pub"} {
			if err := copyIfMissing(filepath.Join(pki, f), filepath.Join(dst, f)); err != nil {
				return err
			}
		}
	}
	return c.ensureServerPKI(ca)
}

func copyIfMissing(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o600)
}

func (c *Cluster) contextName() string {
	if c.cfg.Name == "skiff" {
		return "skiff"
	}
	return "skiff-" + c.cfg.Name
}

func (c *Cluster) startComponent(mounts []cgroups.Mount, n *node, component string) error {
	s, err := c.spec(mounts, n, component)
	if err != nil {
		return err
	}
	if _, err := daemon.Start(s); err != nil {
		return err
	}
	return nil
}

// waitAPI waits for the API servers' /readyz with the admin credentials.
func (c *Cluster) waitAPI(ctx context.Context) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("admin kubeconfig: %w", err)
	}
	cfg.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var last error
	err = c.poll(ctx, func(ctx context.Context) (bool, error) {
		_, last = client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return last == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("the API server at %s did not become ready (%v): see %s", c.serverURL(), last, c.controlPlanes()[0].path("logs", componentServer+".log"))
	}
	if c.ha() {
		// Each server by its own address, so that a node brought back
		// by this Up has rejoined before Up returns.
		for _, n := range c.controlPlanes() {
			one := rest.CopyConfig(cfg)
			one.Host = "https://" + net.JoinHostPort(n.ips[0].String(), fmt.Sprint(c.cfg.Networking.APIServerPort))
			rc, err := kubernetes.NewForConfig(one)
			if err != nil {
				return nil, err
			}
			err = c.poll(ctx, func(ctx context.Context) (bool, error) {
				_, last = rc.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
				return last == nil, nil
			})
			if err != nil {
				return nil, fmt.Errorf("the API server of node %s at %s did not become ready (%v): see %s and %s", n.name(), one.Host, last,
					n.path("logs", componentServer+".log"), n.path("logs", componentEtcd+".log"))
			}
		}
	}
	return client, nil
}

func (c *Cluster) poll(ctx context.Context, cond wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, c.opts.ReadyTimeout, true, cond)
}

func (c *Cluster) waitFile(ctx context.Context, path, what string) error {
	err := c.poll(ctx, func(context.Context) (bool, error) {
		_, err := os.Stat(path)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("timed out waiting for %s (%s)", what, path)
	}
	return nil
}

// ensureBootstrapKubeconfigs gives each node that has no credentials yet
// a bootstrap kubeconfig with a fresh, short-lived token, as `skiff join`
// would be given one.
func (c *Cluster) ensureBootstrapKubeconfigs(ctx context.Context, client kubernetes.Interface) error {
	caPEM, err := os.ReadFile(c.path("pki", "ca.crt"))
	if err != nil {
		return err
	}
	var token string
	for _, n := range c.nodes {
		if _, err := os.Stat(c.kubeletKubeconfig(n)); err == nil {
			continue
		}
		if token == "" {
			tok, err := bootstraptoken.Create(ctx, client, bootstraptoken.CreateOptions{TTL: time.Hour, Description: "skiff up: node bootstrap"})
			if err != nil {
				return fmt.Errorf("create a bootstrap token: %w", err)
			}
			token = tok.String()
		}
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			return err
		}
		if err := certificate.WriteBootstrapKubeconfig(c.bootstrapKubeconfig(n), c.serverURL(), caPEM, token); err != nil {
			return err
		}
	}
	return nil
}

// loadImages puts the busybox image (and the config's image archives)
// into the node's containerd, once the kubelet has started it.
func (c *Cluster) loadImages(ctx context.Context, n *node) error {
	dataDir := c.kubeletDataDir(n)
	run := func(args ...string) error {
		var out []byte
		var err error
		perr := c.poll(ctx, func(ctx context.Context) (bool, error) {
			cmd := exec.CommandContext(ctx, c.opts.Binary, append([]string{"image"}, append(args, "--data-dir", dataDir)...)...)
			out, err = cmd.CombinedOutput()
			return err == nil, nil
		})
		if perr != nil {
			return fmt.Errorf("node %s: skiff image %v: %v: %s (the kubelet runs containerd: see %s)", n.name(), args, err, out, n.path("logs", componentKubelet+".log"))
		}
		return nil
	}
	if err := run("build-busybox"); err != nil {
		return err
	}
	for _, img := range c.cfg.Images {
		if err := run("import", img); err != nil {
			return err
		}
	}
	return nil
}

// waitNodes waits for every node to be Ready, labelling control-plane
// nodes with their role on the way (a kubelet may not set node-role
// labels itself).
func (c *Cluster) waitNodes(ctx context.Context, client kubernetes.Interface) error {
	notReady := ""
	err := c.poll(ctx, func(ctx context.Context) (bool, error) {
		for _, n := range c.nodes {
			node, err := client.CoreV1().Nodes().Get(ctx, n.name(), metav1.GetOptions{})
			if err != nil {
				notReady = n.name() + " (not registered)"
				return false, nil
			}
			if n.controlPlane() {
				if _, ok := node.Labels[controlPlaneLabel]; !ok {
					patch := fmt.Sprintf(`{"metadata":{"labels":{%q:""}}}`, controlPlaneLabel)
					if _, err := client.CoreV1().Nodes().Patch(ctx, n.name(), "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
						return false, fmt.Errorf("label node %s: %w", n.name(), err)
					}
				}
			}
			if !nodeReady(node) {
				notReady = n.name()
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("node %s did not become Ready: see %s", notReady, filepath.Join(c.dir, "nodes", "<node>", "logs"))
	}
	return nil
}

const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// writeUserKubeconfig merges the cluster's context into the user's
// kubeconfig and makes it current, or writes the admin kubeconfig to
// KubeconfigOut.
func (c *Cluster) writeUserKubeconfig() error {
	admin, err := clientcmd.LoadFromFile(c.AdminKubeconfig())
	if err != nil {
		return err
	}
	if c.opts.KubeconfigOut != "" {
		return clientcmd.WriteToFile(*admin, c.opts.KubeconfigOut)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	path := rules.GetDefaultFilename()
	user, err := clientcmd.LoadFromFile(path)
	if errors.Is(err, os.ErrNotExist) {
		user = clientcmdapiNewConfig()
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	name := c.contextName()
	ctx := admin.Contexts[admin.CurrentContext]
	if ctx == nil {
		return fmt.Errorf("%s has no current context", c.AdminKubeconfig())
	}
	user.Clusters[name] = admin.Clusters[ctx.Cluster]
	user.AuthInfos[name] = admin.AuthInfos[ctx.AuthInfo]
	ctxCopy := *ctx
	ctxCopy.Cluster, ctxCopy.AuthInfo = name, name
	user.Contexts[name] = &ctxCopy
	user.CurrentContext = name
	// Embed the credentials: the user's kubeconfig must not depend on the
	// cluster's files staying readable where it is read.
	if err := embed(user, name); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := clientcmd.WriteToFile(*user, path); err != nil {
		return err
	}
	c.progress("kubeconfig: context %q in %s", name, path)
	return nil
}

func readAll(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
