package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/internal/version"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "skiff",
		Short:         "Skiff: a Kubernetes-compatible cluster runtime in one binary",
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.AddCommand(
		newVersionCommand(),
		newAPIServerCommand(),
		newKubeAPIServerCommand(),
		newEtcdCommand(),
		newKubectlCommand(),
		newEnvtestAssetsCommand(),
		newProxyCommand(),
		newControllerManagerCommand(),
		newServerCommand(),
		newSchedulerCommand(),
		newDNSCommand(),
		newKubeletCommand(),
		newTokenCommand(),
		newJoinCommand(),
		newImageCommand(),
		newUpCommand(),
		newDownCommand(),
		newStatusCommand(),
		newAPIBalancerCommand(),
	)
	return root
}

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version Skiff reports at /version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info := version.Get()
			switch output {
			case "":
				fmt.Fprintln(cmd.OutOrStdout(), info.GitVersion)
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return fmt.Errorf("--output must be empty or \"json\", not %q", output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: empty for the version string, or json for the whole /version document")
	return cmd
}

// aliases maps the names the binary may be invoked under to the command it
// then runs, so that a directory of symlinks can stand in for upstream binaries.
func aliases() map[string]func() *cobra.Command {
	return map[string]func() *cobra.Command{
		"kube-apiserver": newKubeAPIServerCommand,
		"etcd":           newEtcdCommand,
		"kubectl":        newKubectlCommand,
	}
}
