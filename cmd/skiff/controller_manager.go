package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/controllers/all"
	"github.com/skiff-dev/skiff/controllers/manager"
)

// controllerManagerFlags are `skiff controller-manager`'s flags, shared with
// `skiff server`.
type controllerManagerFlags struct {
	cfg        manager.Config
	kubeconfig string
	master     string
}

func (f *controllerManagerFlags) addFlags(fss *cliflag.NamedFlagSets, withClient bool) {
	if withClient {
		fs := fss.FlagSet("client")
		fs.StringVar(&f.kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and credentials (empty: in-cluster config).")
		fs.StringVar(&f.master, "master", "", "The address of the API server (overrides any value in the kubeconfig).")
	}
	addControllerFlags(fss.FlagSet("controllers"), &f.cfg)
	fs := fss.FlagSet("leader election")
	fs.BoolVar(&f.cfg.LeaderElect, "leader-elect", true, "Run the controllers only while holding the leader Lease, so that replicas can stand by.")
	fs.StringVar(&f.cfg.LeaderElectionNamespace, "leader-elect-resource-namespace", "kube-system", "The namespace of the leader Lease.")
	fs.StringVar(&f.cfg.LeaderElectionID, "leader-elect-resource-name", manager.DefaultLeaseName, "The name of the leader Lease.")
}

// addControllerFlags adds the flags that select and tune controllers, named
// as kube-controller-manager names them.
func addControllerFlags(fs *pflag.FlagSet, cfg *manager.Config) {
	names := []string{}
	for _, d := range all.Descriptors() {
		names = append(names, d.Name)
	}
	o := &cfg.Options
	fs.StringSliceVar(&cfg.Controllers, "controllers", []string{"*"}, fmt.Sprintf("Controllers to run: '*' for every default-on one, 'foo' to add one, '-foo' to leave one out. Known: %v.", names))
	fs.IntVar(&o.ConcurrentSyncs, "concurrent-syncs", 5, "Objects each controller reconciles at once.")
	fs.StringVar(&o.RootCAFile, "root-ca-file", o.RootCAFile, "CA bundle published as kube-root-ca.crt in every namespace and put in service-account token Secrets.")
	fs.StringVar(&o.ServiceAccountPrivateKeyFile, "service-account-private-key-file", o.ServiceAccountPrivateKeyFile, "PEM private key legacy service-account token Secrets are signed with.")
	fs.StringVar(&o.ClusterSigningCertFile, "cluster-signing-cert-file", o.ClusterSigningCertFile, "PEM CA certificate approved CertificateSigningRequests are signed with.")
	fs.StringVar(&o.ClusterSigningKeyFile, "cluster-signing-key-file", o.ClusterSigningKeyFile, "PEM private key of --cluster-signing-cert-file.")
	fs.DurationVar(&o.ClusterSigningDuration, "cluster-signing-duration", o.ClusterSigningDuration, "The longest validity of a signed certificate (0: a year).")
	fs.StringSliceVar(&o.ClusterCIDRs, "cluster-cidr", o.ClusterCIDRs, "CIDRs (one per IP family) nodes' podCIDRs are allocated from; empty: no allocation.")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", o.NodeCIDRMaskSize, "Prefix length of each node's podCIDR (0: /24 for IPv4, /64 for IPv6).")
	fs.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", o.NodeMonitorGracePeriod, "How long a node may go without a heartbeat before it is marked NotReady (0: 50s).")
	fs.IntVar(&o.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", o.TerminatedPodGCThreshold, "Terminated pods kept before the oldest are deleted (0: 12500).")
	fs.StringVar(&cfg.HealthProbeBindAddress, "healthz-bind-address", "", "host:port /healthz and /readyz are served on, over plain HTTP: keep it on loopback (empty: none).")
	fs.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", "", "host:port /metrics is served on, over plain HTTP: keep it on loopback (empty: none).")
}

// newControllerManagerCommand is `skiff controller-manager`: the control
// loops, talking to an API server through a kubeconfig.
func newControllerManagerCommand() *cobra.Command {
	var f controllerManagerFlags
	return newComponentCommand("controller-manager", "Run Skiff's controller manager (workloads, garbage collection, namespaces, endpoints, nodes, ...)",
		func(fss *cliflag.NamedFlagSets) { f.addFlags(fss, true) },
		func() error {
			restCfg, err := clientcmd.BuildConfigFromFlags(f.master, f.kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig/--master: %w", err)
			}
			f.cfg.RESTConfig = restCfg
			f.cfg.Available = all.Descriptors()
			ctx := genericapiserver.SetupSignalContext()
			cm, err := manager.New(ctx, f.cfg)
			if err != nil {
				return err
			}
			return cm.Start(ctx)
		})
}
