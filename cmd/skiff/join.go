package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/ebpfproxy/proxy"
	"github.com/skiff-dev/skiff/kubelet"
	"github.com/skiff-dev/skiff/kubelet/certificate"
)

// joinOptions are `skiff join`'s own flags; the kubelet's node and runtime
// flags pass through.
type joinOptions struct {
	server           string
	token            string
	caCertHashes     []string
	unsafeSkipCA     bool
	discoveryTimeout time.Duration
	runProxy         bool
	proxy            proxy.Config
}

// The files `skiff join` keeps under --data-dir.
const (
	joinBootstrapKubeconfig = "bootstrap-kubeconfig"
	joinKubeconfig          = "kubelet.kubeconfig"
	joinCertDir             = "pki"
)

// newJoinCommand is `skiff join`: kubeadm join's token discovery and TLS
// bootstrap, then the node's kubelet and eBPF Service proxy in this process
// with the node's own credentials.
func newJoinCommand() *cobra.Command {
	f := newKubeletFlags()
	o := &joinOptions{}
	logOpts := logs.NewOptions()
	var fss cliflag.NamedFlagSets
	cmd := &cobra.Command{
		Use:   "join --server URL --token TOKEN --discovery-token-ca-cert-hash sha256:HEX",
		Short: "Join this machine to a cluster as a node: discover and pin the cluster CA with a bootstrap token, get a client certificate by CSR, run the kubelet and the proxy",
		Long: "Join this machine to a Skiff (or kubeadm-style) cluster, as `kubeadm join` does: the cluster CA is read from\n" +
			"kube-public/cluster-info, trusted because the bootstrap token signed it and checked against\n" +
			"--discovery-token-ca-cert-hash; the token then authenticates a CertificateSigningRequest for the node's client\n" +
			"certificate, and the kubelet (and, unless --proxy=false, the eBPF Service proxy) run with that certificate,\n" +
			"rotating it. A node that joined before (a valid --data-dir/kubelet.kubeconfig) rejoins without the token.\n" +
			"`skiff token create --print-join-command` prints the command line.",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := logsapi.ValidateAndApply(logOpts, nil); err != nil {
				return err
			}
			return runJoin(genericapiserver.SetupSignalContext(), o, f)
		},
	}
	fs := fss.FlagSet("join")
	fs.StringVar(&o.server, "server", "", "The API server to join, https://host:port.")
	fs.StringVar(&o.token, "token", "", "The bootstrap token (abcdef.0123456789abcdef), for discovery and the TLS bootstrap.")
	fs.StringSliceVar(&o.caCertHashes, "discovery-token-ca-cert-hash", nil, "The public key pin of the cluster CA, sha256:<hex> of its SubjectPublicKeyInfo, as `skiff token create --print-join-command` prints it (repeatable).")
	fs.BoolVar(&o.unsafeSkipCA, "discovery-token-unsafe-skip-ca-verification", false, "Trust the CA discovered with the token without a --discovery-token-ca-cert-hash pin.")
	fs.DurationVar(&o.discoveryTimeout, "discovery-timeout", 5*time.Minute, "How long to wait for the cluster-info ConfigMap to be signed for the token.")
	f.addNodeFlags(fs)
	fs.BoolVar(&f.cfg.RotateCertificates, "rotate-certificates", true, "Renew the node's client certificate with a CSR before it expires.")
	fs.BoolVar(&f.cfg.RotateServerCertificates, "rotate-server-certificates", true, "Get the kubelet's serving certificate from a kubernetes.io/kubelet-serving CSR instead of a self-signed one.")
	f.addRuntimeFlags(fss.FlagSet("kubelet"))

	pfs := fss.FlagSet("proxy")
	pfs.BoolVar(&o.runProxy, "proxy", true, "Run the eBPF Service proxy in this process, with the node's credentials.")
	pfs.StringVar(&o.proxy.PinDir, "proxy-bpf-pin-dir", proxy.DefaultPinDir, "The directory the proxy pins BPF maps and links under (skiff proxy --bpf-pin-dir).")
	pfs.StringVar(&o.proxy.CgroupPath, "proxy-cgroup-path", proxy.DefaultCgroupPath, "The cgroup2 directory the proxy's socket hooks attach to (skiff proxy --cgroup-path).")
	pfs.StringSliceVar(&o.proxy.Interfaces, "nodeport-interfaces", nil, "The node's interfaces whose ingress serves NodePorts to other hosts (skiff proxy --nodeport-interfaces).")
	pfs.Var(newPrefixList(&o.proxy.ClusterCIDRs), "cluster-cidr", clusterCIDRHelp)
	pfs.StringVar(&o.proxy.HealthzBindAddress, "proxy-healthz-bind-address", proxy.DefaultHealthzBindAddress, "The host:port the proxy's /healthz is served on (empty: none).")
	pfs.StringVar(&o.proxy.MetricsBindAddress, "proxy-metrics-bind-address", proxy.DefaultMetricsBindAddress, "The host:port the proxy's /metrics is served on (empty: none).")

	logsapi.AddFlags(logOpts, fss.FlagSet("logs"))
	globalflag.AddGlobalFlags(fss.FlagSet("global"), cmd.Name(), logs.SkipLoggingConfigurationFlags())
	for _, s := range fss.FlagSets {
		cmd.Flags().AddFlagSet(s)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}

// validate checks the flags before anything touches the disk or network.
func (o *joinOptions) validate() error {
	switch {
	case o.server == "":
		return errors.New("--server is required: the API server to join, https://host:port")
	case !strings.HasPrefix(o.server, "https://"):
		return fmt.Errorf("--server %q: want an https:// URL", o.server)
	case o.token == "":
		return errors.New("--token is required (create one on the control plane with `skiff token create --print-join-command`)")
	case len(o.caCertHashes) == 0 && !o.unsafeSkipCA:
		return errors.New("token-based discovery without a CA pin is unsafe: give --discovery-token-ca-cert-hash sha256:<hex> (skiff token create --print-join-command prints it), or --discovery-token-unsafe-skip-ca-verification")
	}
	return certificate.ValidateCAHashes(o.caCertHashes)
}

func runJoin(ctx context.Context, o *joinOptions, f *kubeletFlags) error {
	log := klog.FromContext(ctx)
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--node-name not given and no hostname: %w", err)
		}
		cfg.NodeName = strings.ToLower(h)
	}
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	cfg.Kubeconfig = filepath.Join(cfg.DataDir, joinKubeconfig)
	cfg.BootstrapKubeconfig = filepath.Join(cfg.DataDir, joinBootstrapKubeconfig)
	cfg.CertDir = filepath.Join(cfg.DataDir, joinCertDir)

	if certificate.HasValidKubeconfig(cfg.Kubeconfig) {
		log.Info("The node joined before: using its credentials", "kubeconfig", cfg.Kubeconfig)
	} else {
		if err := o.validate(); err != nil {
			return err
		}
		caPEM, err := o.discover(ctx)
		if err != nil {
			return err
		}
		if err := certificate.WriteBootstrapKubeconfig(cfg.BootstrapKubeconfig, o.server, caPEM, o.token); err != nil {
			return err
		}
	}

	// The node's credentials, shared by the kubelet and the proxy: TLS
	// bootstrap (waits for the CSR's approval) and rotation.
	fmt.Fprintf(os.Stderr, "[kubelet-start] Requesting the client certificate of node %s\n", cfg.NodeName)
	rc, err := certificate.Connect(ctx, certificate.Config{
		BootstrapKubeconfig: cfg.BootstrapKubeconfig, KubeconfigPath: cfg.Kubeconfig, CertDir: cfg.CertDir, NodeName: cfg.NodeName,
	}, cfg.RotateCertificates)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	cfg.RESTConfig = rc
	k, err := kubelet.New(cfg)
	if err != nil {
		return fmt.Errorf("start kubelet: %w", err)
	}
	var p *proxy.Proxy
	if o.runProxy {
		pc := o.proxy
		pc.RESTConfig, pc.NodeName = rc, cfg.NodeName
		if p, err = proxy.New(pc); err != nil {
			return fmt.Errorf("start proxy: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "[kubelet-start] Node %s has its client certificate; starting the kubelet%s\n", cfg.NodeName, map[bool]string{true: " and the proxy", false: ""}[p != nil])

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make(chan error, 2)
	run := func(name string, start func(context.Context) error) {
		err := start(ctx)
		if err == nil && ctx.Err() == nil {
			err = fmt.Errorf("%s stopped", name)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			cancel(err)
		}
		errs <- err
	}
	n := 1
	go run("kubelet", k.Start)
	if p != nil {
		n++
		go run("proxy", p.Start)
	}
	var out []error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

// discover gets the cluster CA with the token from cluster-info, waiting
// while the token is not signed yet or the server not reachable, and checks
// it against the pins.
func (o *joinOptions) discover(ctx context.Context) ([]byte, error) {
	log := klog.FromContext(ctx)
	var caPEM []byte
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, o.discoveryTimeout, true, func(ctx context.Context) (bool, error) {
		ca, err := certificate.DiscoverCA(ctx, o.server, o.token)
		if err != nil {
			if certificate.RetriableDiscoveryError(err) {
				if last == nil || last.Error() != err.Error() {
					log.Info("Cluster CA discovery failed, retrying", "err", err)
				}
				last = err
				return false, nil
			}
			return false, err
		}
		caPEM = ca
		return true, nil
	})
	if err != nil {
		if last != nil && wait.Interrupted(err) {
			return nil, fmt.Errorf("join: no cluster CA within --discovery-timeout %s: %w", o.discoveryTimeout, last)
		}
		return nil, fmt.Errorf("join: %w", err)
	}
	if len(o.caCertHashes) == 0 {
		log.Info("Trusting the cluster CA without a pin (--discovery-token-unsafe-skip-ca-verification)")
		return caPEM, nil
	}
	if err := certificate.CheckCAPins(caPEM, o.caCertHashes); err != nil {
		return nil, fmt.Errorf("join: refusing to trust %s: %w", o.server, err)
	}
	fmt.Fprintf(os.Stderr, "[discovery] The cluster CA of %s is signed by the token and matches the pinned hash\n", o.server)
	return caPEM, nil
}
