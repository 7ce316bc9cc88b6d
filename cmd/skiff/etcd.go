package main

import (
	"os"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
)

// newEtcdCommand is `skiff etcd` (and the binary invoked as etcd): the
// etcd server itself, linked in, with all of etcd's flags.
func newEtcdCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "etcd [etcd flags]",
		Short:              "Run an etcd server (etcd v3.7, with etcd's own flags)",
		DisableFlagParsing: true,
		Run: func(cmd *cobra.Command, args []string) {
			// etcd parses its own flags and exits the process when done.
			etcdmain.Main(append([]string{"etcd"}, args...))
			os.Exit(0)
		},
	}
}
