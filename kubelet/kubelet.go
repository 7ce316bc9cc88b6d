package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/kubelet/certificate"
	"github.com/skiff-dev/skiff/kubelet/network"
	"github.com/skiff-dev/skiff/kubelet/nodestatus"
	"github.com/skiff-dev/skiff/kubelet/podworkers"
	"github.com/skiff-dev/skiff/kubelet/prober"
	"github.com/skiff-dev/skiff/kubelet/runtime"
	kubeletserver "github.com/skiff-dev/skiff/kubelet/server"
	"github.com/skiff-dev/skiff/kubelet/status"
)

// Config configures a Kubelet. NodeName, DataDir and one of Kubeconfig or
// RESTConfig are required.
type Config struct {
	// Kubeconfig is the path of the kubeconfig to reach the API server with.
	// With BootstrapKubeconfig it is written by the TLS bootstrap.
	Kubeconfig string
	// BootstrapKubeconfig, when set, has the bootstrap token credentials
	// with which the node gets its client certificate (a
	// kube-apiserver-client-kubelet CSR) while Kubeconfig has no valid one;
	// Kubeconfig is then written to use the certificate in CertDir.
	BootstrapKubeconfig string
	// CertDir holds the node's client and serving certificates (upstream's
	// --cert-dir); empty means DataDir/pki.
	CertDir string
	// RotateCertificates renews the client certificate before it expires,
	// with a CSR the controller manager approves as selfnodeclient.
	RotateCertificates bool
	// RotateServerCertificates gets the server's certificate from a
	// kubernetes.io/kubelet-serving CSR (SANs: the node's addresses) and
	// renews it, instead of a self-signed one. TLSCertFile is then unused.
	RotateServerCertificates bool
	// PodNetworkRoutes is how pods of other nodes are reached: "none" or
	// empty (no routes are managed), "auto", "host-gw" or "vxlan" (see
	// network.ParseRouteMode); routes go via the interface holding the
	// node's InternalIP.
	PodNetworkRoutes string
	// RESTConfig is used instead of Kubeconfig when set (tests, and
	// callers that share the node's credentials with a proxy).
	RESTConfig *rest.Config
	// NodeName is the Node object's name.
	NodeName string
	// DataDir holds containerd's state, pod directories, logs and the pod
	// network's state.
	DataDir string
	// ContainerdAddress is a running containerd's socket; empty starts a
	// Skiff-owned one under DataDir.
	ContainerdAddress string
	// CRILogger is the binary the containerd shim starts per container to
	// write its CRI log (cmd/skiff-cri-logger). Empty: skiff-cri-logger
	// next to the running executable, else the running executable itself.
	CRILogger string
	// CgroupRoot is the parent cgroup of all pods (runtime.DefaultCgroupRoot).
	CgroupRoot string
	// PodCIDR is the range pod IPs come from; empty waits for the Node's
	// spec.podCIDR.
	PodCIDR string
	// BridgeName is the pod network bridge (network.DefaultBridgeName).
	BridgeName string
	// ClusterDNS, ClusterDomain and ResolvConf shape pods' resolv.conf.
	ClusterDNS    []string
	ClusterDomain string
	ResolvConf    string
	// NodeIPs are the node's addresses (see nodestatus.Config.Addresses).
	NodeIPs []net.IP
	// NodeLabels are added to the Node at registration.
	NodeLabels map[string]string
	// KubeReserved is subtracted from capacity for allocatable.
	KubeReserved corev1.ResourceList
	// MaxPods is the node's pod capacity (110).
	MaxPods int
	// Prober runs probes and lifecycle hooks; nil means the kubelet's own
	// (kubelet/prober on the runtime).
	Prober podworkers.Prober
	// ServerAddress is where the kubelet's HTTPS server (logs, exec,
	// attach, port-forward, stats) listens, e.g. ":10250"; empty runs none.
	ServerAddress string
	// ServerPort is the port published in the Node's daemonEndpoints
	// (nodestatus' default 10250 if zero).
	ServerPort int32
	// TLSCertFile and TLSKeyFile are its serving certificate; empty makes a
	// self-signed one under DataDir/pki.
	TLSCertFile, TLSKeyFile string
	// ClientCAFile verifies client certificates at the server (the API
	// server's kubelet client certificate). Empty means the CA the
	// kubeconfig trusts, as Skiff's single cluster CA signs both.
	ClientCAFile string
	// Back-off and resync tuning of the pod workers; zero means upstream's
	// values (see podworkers.Default*).
	BackoffBase, BackoffMax           time.Duration
	ImageBackoffBase, ImageBackoffMax time.Duration
	ResyncInterval                    time.Duration
	// NodeStatusUpdateFrequency is how often node status is computed (10s).
	NodeStatusUpdateFrequency time.Duration
}

// Kubelet is Skiff's node agent: it registers the node, runs the pods bound
// to it on containerd and reports their status.
type Kubelet struct {
	cfg        Config
	client     kubernetes.Interface
	restConfig *rest.Config
	// eventClient sends events with a rate limit of its own, as
	// upstream's kubelet does (eventRecordQPS, eventBurst): events never
	// delay status writes and API reads on client-side throttling.
	eventClient kubernetes.Interface
	workers     atomic.Pointer[podworkers.Workers]
	statuses    atomic.Pointer[status.Manager]
	rt          atomic.Pointer[runtime.Runtime]
}

// New validates cfg and builds the API client.
func New(cfg Config) (*Kubelet, error) {
	var errs []error
	if cfg.NodeName == "" {
		errs = append(errs, errors.New("a node name is required"))
	}
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("a data dir is required"))
	}
	if cfg.Kubeconfig == "" && cfg.RESTConfig == nil {
		errs = append(errs, errors.New("a kubeconfig is required"))
	}
	if cfg.BootstrapKubeconfig != "" && cfg.Kubeconfig == "" {
		errs = append(errs, errors.New("a kubeconfig path is required with a bootstrap kubeconfig: the bootstrap writes it"))
	}
	if cfg.PodCIDR != "" {
		if _, _, err := net.ParseCIDR(cfg.PodCIDR); err != nil {
			errs = append(errs, fmt.Errorf("invalid pod CIDR: %w", err))
		}
	}
	if _, _, err := network.ParseRouteMode(cfg.PodNetworkRoutes); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("kubelet config: %w", errors.Join(errs...))
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("kubelet config: %w", err)
	}
	cfg.DataDir = dir
	if cfg.CertDir == "" {
		cfg.CertDir = filepath.Join(dir, "pki")
	}
	k := &Kubelet{cfg: cfg}
	rc := cfg.RESTConfig
	if rc == nil && (cfg.BootstrapKubeconfig != "" || cfg.RotateCertificates) {
		// The credentials come at Start: bootstrapping waits for the
		// CSR's approval.
		return k, nil
	}
	if rc == nil {
		if rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig); err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", cfg.Kubeconfig, err)
		}
	}
	if err := k.setClient(rc); err != nil {
		return nil, err
	}
	return k, nil
}

// The kubelet's API client limits, as upstream's KubeletConfiguration
// defaults them.
const (
	DefaultAPIQPS   = 50
	DefaultAPIBurst = 100
	// DefaultEventQPS and DefaultEventBurst limit the event client
	// (upstream's eventRecordQPS and eventBurst defaults).
	DefaultEventQPS   = 50
	DefaultEventBurst = 100
)

func (k *Kubelet) setClient(rc *rest.Config) error {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "skiff-kubelet/" + k.cfg.NodeName
	// Upstream's kubeAPIQPS and kubeAPIBurst defaults; client-go's 5/10
	// throttle a node starting 30 pods at once for tens of seconds.
	if rc.QPS == 0 {
		rc.QPS = DefaultAPIQPS
	}
	if rc.Burst == 0 {
		rc.Burst = DefaultAPIBurst
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	erc := rest.CopyConfig(rc)
	erc.QPS, erc.Burst = DefaultEventQPS, DefaultEventBurst
	eventClient, err := kubernetes.NewForConfig(erc)
	if err != nil {
		return fmt.Errorf("create event client: %w", err)
	}
	k.client, k.restConfig, k.eventClient = client, rc, eventClient
	return nil
}

// connect gets the node's credentials (TLS bootstrap, client certificate
// rotation) and builds the client.
func (k *Kubelet) connect(ctx context.Context) error {
	rc, err := certificate.Connect(ctx, certificate.Config{
		BootstrapKubeconfig: k.cfg.BootstrapKubeconfig, KubeconfigPath: k.cfg.Kubeconfig,
		CertDir: k.cfg.CertDir, NodeName: k.cfg.NodeName,
	}, k.cfg.RotateCertificates)
	if err != nil {
		return err
	}
	return k.setClient(rc)
}

// Client is the kubelet's API client; with a bootstrap kubeconfig or
// certificate rotation it is nil until Start has the node's credentials.
func (k *Kubelet) Client() kubernetes.Interface { return k.client }

// Start runs the kubelet until ctx ends: it registers the node and keeps
// its status, re-adopts the pods already running from an earlier run,
// removes what belongs to pods that are gone, and runs the node's pods.
// On return the pods keep running. A stop that comes while the kubelet is
// still starting (a SIGTERM before the pod informer synced, say) is a clean
// stop too: Start returns nil whenever ctx has ended.
func (k *Kubelet) Start(ctx context.Context) error {
	err := k.start(ctx)
	if err != nil && ctx.Err() != nil {
		klog.FromContext(ctx).V(2).Info("Kubelet stopped while starting", "node", k.cfg.NodeName, "err", err)
		return nil
	}
	return err
}

func (k *Kubelet) start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("node", k.cfg.NodeName)
	ctx, cancel := context.WithCancel(klog.NewContext(ctx, log))
	defer cancel()

	if err := os.MkdirAll(k.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if k.client == nil {
		if err := k.connect(ctx); err != nil {
			return err
		}
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(1)
	eventClient := k.eventClient
	if eventClient == nil {
		eventClient = k.client
	}
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: eventClient.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: k.cfg.NodeName})

	reporter, err := nodestatus.New(nodestatus.Config{
		Client: k.client, NodeName: k.cfg.NodeName, Addresses: k.cfg.NodeIPs, Labels: k.cfg.NodeLabels,
		Reserved: k.cfg.KubeReserved, MaxPods: k.cfg.MaxPods, RootDir: k.cfg.DataDir, Recorder: recorder,
		CgroupPath:            k.cgroupRoot(),
		StatusUpdateFrequency: k.cfg.NodeStatusUpdateFrequency, KubeletPort: k.cfg.ServerPort,
		RuntimeVersion: func(ctx context.Context) (string, error) {
			rt := k.rt.Load()
			if rt == nil {
				return "", errors.New("container runtime is starting")
			}
			// nodestatus adds the "containerd://" prefix.
			return rt.Version(ctx)
		},
	})
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = reporter.Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	node, err := k.waitNode(ctx, func(n *corev1.Node) bool {
		return len(n.Status.Addresses) > 0 && (k.cfg.PodCIDR != "" || n.Spec.PodCIDR != "")
	})
	if err != nil {
		return fmt.Errorf("wait for node %s to be registered: %w", k.cfg.NodeName, err)
	}
	podCIDR := k.cfg.PodCIDR
	if podCIDR == "" {
		podCIDR = node.Spec.PodCIDR
	}
	var hostIPs []string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			hostIPs = append(hostIPs, a.Address)
		}
	}
	netw, err := network.New(network.Config{PodCIDR: podCIDR, BridgeName: k.cfg.BridgeName, StateDir: filepath.Join(k.cfg.DataDir, "network")})
	if err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	objects := podworkers.APIObjects{Client: k.client}
	rt, err := runtime.New(ctx, runtime.Config{
		DataDir: k.cfg.DataDir, ContainerdAddress: k.cfg.ContainerdAddress, CgroupRoot: k.cfg.CgroupRoot,
		LoggerBinary: k.cfg.CRILogger, Network: netw, NodeName: k.cfg.NodeName, HostIPs: hostIPs, Objects: objects,
		DNS: runtime.DNSSettings{ClusterDNS: k.cfg.ClusterDNS, ClusterDomain: k.cfg.ClusterDomain, ResolvConf: k.cfg.ResolvConf},
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	k.rt.Store(rt)

	probes := k.cfg.Prober
	if probes == nil {
		m, err := prober.New(prober.Config{Exec: rt, Recorder: recorder, Logger: log.WithName("prober")})
		if err != nil {
			return fmt.Errorf("prober: %w", err)
		}
		defer m.Stop()
		probes = newProbeAdapter(m)
	}
	if k.cfg.ServerAddress != "" {
		if err := k.startServer(ctx, rt, hostIPs, reporter.Addresses); err != nil {
			return err
		}
	}
	if err := k.startPeerRoutes(ctx, hostIPs); err != nil {
		return err
	}

	statuses := status.NewManager(k.client)
	k.statuses.Store(statuses)
	workers, err := podworkers.New(podworkers.Config{
		Client: k.client, Runtime: rt, Status: statuses, Recorder: recorder,
		Prober: probes, Objects: objects, HostIPs: hostIPs,
		BackoffBase: k.cfg.BackoffBase, BackoffMax: k.cfg.BackoffMax,
		ImageBackoffBase: k.cfg.ImageBackoffBase, ImageBackoffMax: k.cfg.ImageBackoffMax,
		ResyncInterval: k.cfg.ResyncInterval,
	})
	if err != nil {
		return err
	}
	k.workers.Store(workers)

	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName).String()
	}))
	podInformer := factory.Core().V1().Pods()
	informer := podInformer.Informer()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("pod informer of node %s did not sync: %w", k.cfg.NodeName, ctx.Err())
	}
	pods, err := podInformer.Lister().List(labels.Everything())
	if err != nil {
		return err
	}
	wanted := map[types.UID]bool{}
	for _, p := range pods {
		wanted[p.UID] = true
	}
	if err := rt.Reconcile(ctx, wanted); err != nil {
		log.Error(err, "Startup reconcile left pieces behind")
	}
	log.Info("Kubelet started", "pods", len(pods), "podCIDR", podCIDR)

	workers.Start(ctx)
	defer func() { cancel(); workers.Wait() }()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.onPod(obj) },
		UpdateFunc: func(_, obj any) { k.onPod(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				workers.DeletePod(p)
			}
		},
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	<-ctx.Done()
	log.Info("Kubelet stopping; pods keep running")
	return nil
}

func (k *Kubelet) onPod(obj any) {
	if p, ok := obj.(*corev1.Pod); ok {
		k.workers.Load().UpdatePod(p)
	}
}

func (k *Kubelet) waitNode(ctx context.Context, ok func(*corev1.Node) bool) (*corev1.Node, error) {
	var node *corev1.Node
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		n, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		node = n
		return ok(n), nil
	})
	return node, err
}

// GetPods returns the pods the kubelet runs (for the kubelet's server).
func (k *Kubelet) GetPods() []*corev1.Pod {
	w := k.workers.Load()
	if w == nil {
		return nil
	}
	return w.GetPods()
}

// GetPodByName returns the pod namespace/name if the kubelet runs it.
func (k *Kubelet) GetPodByName(namespace, name string) (*corev1.Pod, bool) {
	w := k.workers.Load()
	if w == nil {
		return nil, false
	}
	return w.GetPodByName(namespace, name)
}

// Runtime is the container runtime, once Start has connected it (for the
// kubelet's server: logs, exec).
func (k *Kubelet) Runtime() *runtime.Runtime { return k.rt.Load() }

// cgroupRoot is the pods' parent cgroup, whose limits (and its
// ancestors') cap the node's capacity.
func (k *Kubelet) cgroupRoot() string {
	if k.cfg.CgroupRoot != "" {
		return k.cfg.CgroupRoot
	}
	return runtime.DefaultCgroupRoot
}

// startPeerRoutes keeps, in the background until ctx ends, the routes to
// other nodes' pod CIDRs when PodNetworkRoutes asks for them.
func (k *Kubelet) startPeerRoutes(ctx context.Context, hostIPs []string) error {
	mode, enabled, err := network.ParseRouteMode(k.cfg.PodNetworkRoutes)
	if err != nil || !enabled {
		return err
	}
	if len(hostIPs) == 0 {
		return errors.New("pod network routes: the node has no InternalIP")
	}
	ifname, err := network.InterfaceWithIP(net.ParseIP(hostIPs[0]))
	if err != nil {
		return fmt.Errorf("pod network routes: %w", err)
	}
	router, err := network.NewRouter(network.RouterConfig{Interface: ifname, Mode: mode}, klog.FromContext(ctx).WithName("router"))
	if err != nil {
		return fmt.Errorf("pod network routes: %w", err)
	}
	factory := informers.NewSharedInformerFactory(k.client, 0)
	nodes := factory.Core().V1().Nodes().Informer()
	factory.Start(ctx.Done())
	klog.FromContext(ctx).Info("Keeping routes to other nodes' pods", "mode", k.cfg.PodNetworkRoutes, "interface", ifname)
	go func() {
		defer factory.Shutdown()
		if err := network.RunPeerRoutes(ctx, network.PeerRoutesConfig{NodeName: k.cfg.NodeName, Nodes: nodes, Syncer: router}); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "Pod network routes stopped")
		}
	}()
	return nil
}

// startServer starts the kubelet's HTTPS server in the background; it stops
// with ctx. addresses are the node's, for a serving certificate from a CSR.
func (k *Kubelet) startServer(ctx context.Context, rt *runtime.Runtime, hostIPs []string, addresses func() []corev1.NodeAddress) error {
	caFile := k.cfg.ClientCAFile
	if caFile == "" {
		var err error
		if caFile, err = k.writeClusterCA(); err != nil {
			return err
		}
	}
	var ips []net.IP
	for _, ip := range hostIPs {
		if p := net.ParseIP(ip); p != nil {
			ips = append(ips, p)
		}
	}
	scfg := kubeletserver.Config{
		Addr: k.cfg.ServerAddress, TLSCertFile: k.cfg.TLSCertFile, TLSKeyFile: k.cfg.TLSKeyFile,
		CertDir: k.cfg.CertDir, ServingIPs: ips, ClientCAFile: caFile,
		Client: k.client, NodeName: k.cfg.NodeName, Pods: k, Runtime: rt,
	}
	if k.cfg.RotateServerCertificates {
		sm, err := certificate.NewServingManager(ctx, certificate.ServingConfig{
			Client: k.restConfig, CertDir: k.cfg.CertDir, NodeName: k.cfg.NodeName, Addresses: addresses,
		})
		if err != nil {
			return err
		}
		sm.Start()
		go func() {
			<-ctx.Done()
			sm.Stop()
		}()
		scfg.TLSCertFile, scfg.TLSKeyFile = "", ""
		scfg.GetCertificate = certificate.ServingTLSConfig(sm).GetCertificate
	}
	srv, err := kubeletserver.New(scfg)
	if err != nil {
		return fmt.Errorf("kubelet server: %w", err)
	}
	go func() {
		if err := srv.Start(ctx); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "Kubelet server stopped")
		}
	}()
	return nil
}

// writeClusterCA writes the CA the kubelet's kubeconfig trusts into the
// data dir, for the server to verify the API server's client certificate.
func (k *Kubelet) writeClusterCA() (string, error) {
	rc := k.restConfig
	if len(rc.CAData) == 0 && rc.CAFile == "" && k.cfg.Kubeconfig != "" {
		// A rotating client config has its CA inside its transport.
		fromFile, err := clientcmd.BuildConfigFromFlags("", k.cfg.Kubeconfig)
		if err != nil {
			return "", fmt.Errorf("read cluster CA: %w", err)
		}
		rc = fromFile
	}
	data := rc.CAData
	if len(data) == 0 && rc.CAFile != "" {
		var err error
		if data, err = os.ReadFile(rc.CAFile); err != nil {
			return "", fmt.Errorf("read cluster CA: %w", err)
		}
	}
	if len(data) == 0 {
		return "", errors.New("kubelet server: no --client-ca-file and the kubeconfig names no CA")
	}
	path := filepath.Join(k.cfg.CertDir, "client-ca.crt")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("kubelet server: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("kubelet server: write client CA: %w", err)
	}
	return path, nil
}
