package main

import (
	"github.com/spf13/cobra"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
)

// newComponentCommand is the command of a component that talks to an API
// server (controller-manager, scheduler, proxy): the component's named flag
// sets, then kube's logging and global flags, kube's usage layout, and run
// once logging is configured and the flags are printed.
func newComponentCommand(use, short string, addFlags func(*cliflag.NamedFlagSets), run func() error) *cobra.Command {
	logOpts := logs.NewOptions()
	var fss cliflag.NamedFlagSets
	cmd := &cobra.Command{
		Use:          use,
		Short:        short,
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := logsapi.ValidateAndApply(logOpts, nil); err != nil {
				return err
			}
			cliflag.PrintFlags(cmd.Flags())
			return run()
		},
	}
	addFlags(&fss)
	logsapi.AddFlags(logOpts, fss.FlagSet("logs"))
	globalflag.AddGlobalFlags(fss.FlagSet("global"), cmd.Name(), logs.SkipLoggingConfigurationFlags())
	for _, fs := range fss.FlagSets {
		cmd.Flags().AddFlagSet(fs)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}
