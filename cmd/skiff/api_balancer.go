package main

import (
	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/cluster/apibalancer"
)

// newAPIBalancerCommand is `skiff api-balancer`: the host address `skiff
// up` puts in front of several API servers.
func newAPIBalancerCommand() *cobra.Command {
	var cfg apibalancer.Config
	cmd := &cobra.Command{
		Use:          "api-balancer",
		Short:        "Accept TCP connections on one address and pass each to an API server whose /readyz answers (skiff up runs it for several control-plane nodes)",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := apibalancer.New(cfg)
			if err != nil {
				return err
			}
			ctx := klog.NewContext(genericapiserver.SetupSignalContext(), klog.Background())
			return b.Start(ctx)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Listen, "listen", "", "host:port to accept connections on.")
	fs.StringSliceVar(&cfg.Backends, "backend", nil, "An API server's host:port (repeat, or comma-separate).")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "CA that signed the API servers' serving certificates, for the /readyz checks.")
	fs.StringVar(&cfg.CertFile, "cert-file", "", "Client certificate the /readyz checks present.")
	fs.StringVar(&cfg.KeyFile, "key-file", "", "Key of --cert-file.")
	fs.DurationVar(&cfg.HealthInterval, "health-interval", 0, "How often each API server's /readyz is checked (default 1s).")
	return cmd
}
