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
	"github.com/skiff-dev/skiff/controllers/all"
	"github.com/skiff-dev/skiff/internal/controlplane"
	"github.com/skiff-dev/skiff/internal/version"
)

// newServerCommand is `skiff server`: the API server, the controller manager
// and the scheduler in one process, meeting only through the API.
func newServerCommand() *cobra.Command {
	opts := server.NewOptions()
	// Nodes join with bootstrap tokens (skiff token, skiff join).
	opts.Authentication.EnableBootstrapTokenAuth = true
	opts.Authorization.Modes = []string{server.ModeNode, server.ModeRBAC}
	opts.KubeletPreferredAddressTypes = skiffKubeletAddressTypes
	var cm controllerManagerFlags
	var sched schedulerFlags
	var fss cliflag.NamedFlagSets
	cmd := &cobra.Command{
		Use:          "server",
		Short:        "Run a control plane in one process: API server (embedded etcd), controller manager and scheduler",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := logsapi.ValidateAndApply(opts.Logs, nil); err != nil {
				return err
			}
			cliflag.PrintFlags(cmd.Flags())
			cm.cfg.Available = all.Descriptors()
			cfg := controlplane.Config{APIServer: opts, ControllerManager: &cm.cfg}
			if c, ok := sched.component(); ok {
				cfg.Components = append(cfg.Components, c)
			}
			cp, err := controlplane.New(cfg)
			if err != nil {
				return fmt.Errorf("invalid server options: %w", err)
			}
			ctx := genericapiserver.SetupSignalContext()
			go func() {
				select {
				case <-cp.APIServer().Ready():
					fmt.Fprintf(os.Stderr, "Skiff %s control plane serving at %s\nexport KUBECONFIG=%s\n", version.GitVersion(), cp.APIServer().URL(), cp.APIServer().KubeconfigPath)
				case <-ctx.Done():
				}
			}()
			if err := cp.Start(ctx); err != nil && !errors.Is(err, ctx.Err()) {
				return err
			}
			return nil
		},
	}
	opts.AddFlags(&fss, true)
	cm.addFlags(&fss, false)
	sched.addFlags(&fss, false)
	globalflag.AddGlobalFlags(fss.FlagSet("global"), cmd.Name(), logs.SkipLoggingConfigurationFlags())
	for _, f := range fss.FlagSets {
		cmd.Flags().AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}
