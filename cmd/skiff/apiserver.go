package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"

	"github.com/skiff-dev/skiff/apiserver/server"
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
	var fss cliflag.NamedFlagSets
	var showVersion bool
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
