package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"

	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/controllers/all"
	"github.com/skiff-dev/skiff/controllers/manager"
	"github.com/skiff-dev/skiff/internal/version"
)

// newAPIServerCommand is `skiff apiserver`: a self-contained API server
// that keeps everything (embedded etcd, certificates, admin kubeconfig)
// under --data-dir.
func newAPIServerCommand() *cobra.Command {
	return apiServerCommand("apiserver", "Run Skiff's Kubernetes API server with embedded etcd", true)
}

// newKubeAPIServerCommand is `skiff kube-apiserver` (and the binary invoked
// as kube-apiserver): the same server taking kube-apiserver's flags, as a
// drop-in under envtest.
func newKubeAPIServerCommand() *cobra.Command {
	return apiServerCommand("kube-apiserver", "Run Skiff's API server as a drop-in kube-apiserver", false)
}

func apiServerCommand(use, short string, selfContained bool) *cobra.Command {
	opts := server.NewOptions()
	opts.WriteAdminKubeconfig = selfContained
	// Skiff's own server takes bootstrap tokens (skiff token, skiff join);
	// the kube-apiserver personality keeps upstream's default, off.
	opts.Authentication.EnableBootstrapTokenAuth = selfContained
	// metrics.k8s.io comes from metrics-server on upstream clusters: the
	// drop-in kube-apiserver does not serve it unless --runtime-config asks.
	opts.ServeResourceMetrics = selfContained
	if selfContained {
		// Kubelets reach only their own node's objects, as on kubeadm
		// clusters; kube-apiserver's personality keeps its own default.
		opts.Authorization.Modes = []string{server.ModeNode, server.ModeRBAC}
		// Node IPs first, as kubeadm and k3s configure it: a node's
		// Hostname address need not resolve from the API server.
		opts.KubeletPreferredAddressTypes = skiffKubeletAddressTypes
	}
	var fss cliflag.NamedFlagSets
	var showVersion bool
	var inProcess []string
	cmd := &cobra.Command{
		Use:          use,
		Short:        short,
		SilenceUsage: true,
		// Flags are parsed by cobra; unknown ones fail with cobra's message
		// naming the flag.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				fmt.Fprintf(cmd.OutOrStdout(), "Kubernetes %s\n", version.GitVersion())
				return nil
			}
			if err := logsapi.ValidateAndApply(opts.Logs, nil); err != nil {
				return err
			}
			cliflag.PrintFlags(cmd.Flags())
			if err := addInProcessControllers(opts, inProcess); err != nil {
				return err
			}
			s, err := server.New(opts)
			if err != nil {
				return fmt.Errorf("invalid %s options: %w", use, err)
			}
			ctx := genericapiserver.SetupSignalContext()
			if selfContained {
				go func() {
					select {
					case <-s.Ready():
						fmt.Fprintf(os.Stderr, "Skiff API server %s serving at %s\nexport KUBECONFIG=%s\n", version.GitVersion(), s.URL(), s.KubeconfigPath)
					case <-ctx.Done():
					}
				}()
			}
			if err := s.Start(ctx); err != nil && !errors.Is(err, ctx.Err()) {
				return err
			}
			return nil
		},
	}
	opts.AddFlags(&fss, selfContained)
	fss.FlagSet("skiff").StringSliceVar(&inProcess, "skiff-controllers", envList(inProcessControllersEnv),
		"Controllers to run inside the API server, e.g. garbagecollector,namespace, so that owned objects and deleted namespaces really go "+
			"(default: none, as kube-apiserver; also set by $"+inProcessControllersEnv+").")
	globalflag.AddGlobalFlags(fss.FlagSet("global"), cmd.Name(), logs.SkipLoggingConfigurationFlags())
	fss.FlagSet("global").BoolVar(&showVersion, "version", false, "Print the version (Kubernetes vX.Y.Z) and exit.")
	fs := cmd.Flags()
	for _, f := range fss.FlagSets {
		fs.AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}

// inProcessControllersEnv opts an API server started by a tool that passes
// only kube-apiserver's flags (envtest) into running controllers.
const inProcessControllersEnv = "SKIFF_CONTROLLERS"

func envList(name string) []string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// addInProcessControllers runs the named controllers inside the server,
// with its loopback credentials and no leader election.
func addInProcessControllers(opts *server.Options, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := manager.Select(all.Descriptors(), names); err != nil {
		return fmt.Errorf("--skiff-controllers: %w", err)
	}
	if opts.LoopbackComponents == nil {
		opts.LoopbackComponents = map[string]func(context.Context, *rest.Config) error{}
	}
	opts.LoopbackComponents["controller-manager"] = func(ctx context.Context, cfg *rest.Config) error {
		cm, err := manager.New(ctx, manager.Config{RESTConfig: cfg, Available: all.Descriptors(), Controllers: names})
		if err != nil {
			return err
		}
		return cm.Start(ctx)
	}
	return nil
}

// skiffKubeletAddressTypes is how Skiff's own servers reach kubelets.
var skiffKubeletAddressTypes = []string{"InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS", "Hostname"}
