package main

import (
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/internal/exepages"
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
			go releaseStartupPages()
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

// componentStartup is how long a component is given to start (informers
// synced, first syncs done) before releaseStartupPages runs.
const componentStartup = 30 * time.Second

// releaseStartupPages returns start-up garbage to the OS and drops the
// process's mappings of the binary's read-only pages once, as the API
// server does after /readyz (see internal/exepages): the one binary holds
// every component, and a kubelet or proxy touches much of it only while
// starting. The pages stay in the page cache; those used again map back.
func releaseStartupPages() {
	time.Sleep(componentStartup)
	debug.FreeOSMemory()
	released, err := exepages.Release()
	if err != nil {
		klog.V(1).InfoS("Dropping the executable's start-up page mappings failed", "err", err)
		return
	}
	var kib uint64
	for _, m := range released {
		kib += m.RSSKiB
	}
	klog.V(2).InfoS("Dropped the executable's start-up page mappings", "mappings", len(released), "residentKiB", kib)
}
