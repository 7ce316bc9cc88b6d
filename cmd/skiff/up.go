package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/skiff-dev/skiff/apis/cluster/v1alpha1"
	"github.com/skiff-dev/skiff/cluster"
)

// newUpCommand is `skiff up`: a multi-node cluster on this host.
func newUpCommand() *cobra.Command {
	var (
		configFile, name, stateRoot, kubeconfigOut string
		nodes, controlPlanes                       int
		opts                                       cluster.Options
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring up (or back) a multi-node cluster on this host: nodes in network namespaces, pod network, DNS, Service proxy",
		Long: "Bring up a cluster on this host and wait until every node is Ready and cluster DNS answers.\n" +
			"Each node is a network namespace on a host bridge running its own kubelet, containerd and eBPF proxy;\n" +
			"control-plane nodes also run an API server with the controller manager and scheduler, and DNS.\n" +
			"Running it again, after a crash or a reboot, brings back the same cluster with its objects.",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg *v1alpha1.Cluster
			switch {
			case configFile != "" && (cmd.Flags().Changed("nodes") || cmd.Flags().Changed("control-planes")):
				return errors.New("--config describes the nodes: drop --nodes and --control-planes, or the --config file")
			case configFile != "":
				c, err := v1alpha1.Load(configFile)
				if err != nil {
					return err
				}
				cfg = c
			default:
				if controlPlanes < 1 {
					return fmt.Errorf("--control-planes must be at least 1, not %d", controlPlanes)
				}
				if nodes < controlPlanes {
					nodes = controlPlanes
				}
				cfg = v1alpha1.Default(controlPlanes, nodes)
				if name != "" {
					cfg.Name = name
					cfg.Nodes = nil
					for i := 0; i < nodes; i++ {
						role := v1alpha1.WorkerRole
						if i < controlPlanes {
							role = v1alpha1.ControlPlaneRole
						}
						cfg.Nodes = append(cfg.Nodes, v1alpha1.Node{Role: role})
					}
					v1alpha1.SetDefaults_Cluster(cfg)
				}
			}
			if configFile != "" && name != "" && name != cfg.Name {
				return fmt.Errorf("--name %q differs from the config's name %q", name, cfg.Name)
			}
			opts.StateRoot, opts.KubeconfigOut, opts.Out = stateRoot, kubeconfigOut, cmd.ErrOrStderr()
			c, err := cluster.New(cfg, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Bringing up cluster %q (%d node(s))\n", cfg.Name, len(cfg.Nodes))
			if err := c.Up(genericapiserver.SetupSignalContext()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cluster %q is up. Try:\n  kubectl get nodes\n(admin kubeconfig: %s)\n", cfg.Name, c.AdminKubeconfig())
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "A cluster config file (apiVersion skiff.dev/v1alpha1, kind Cluster; see config/samples/cluster.yaml).")
	cmd.Flags().StringVar(&name, "name", "", "The cluster's name (default skiff).")
	cmd.Flags().IntVar(&nodes, "nodes", 1, "How many nodes, control-plane ones included.")
	cmd.Flags().IntVar(&controlPlanes, "control-planes", 1, "How many of them are control-plane nodes.")
	cmd.Flags().StringVar(&stateRoot, "state-dir", cluster.DefaultStateRoot, "Where clusters keep their state, one directory each.")
	cmd.Flags().StringVar(&kubeconfigOut, "kubeconfig-out", "", "Write the admin kubeconfig here instead of merging a context into $KUBECONFIG or ~/.kube/config.")
	cmd.Flags().DurationVar(&opts.ReadyTimeout, "wait", 0, "How long to wait for each step (default 3m).")
	return cmd
}

// newDownCommand is `skiff down`.
func newDownCommand() *cobra.Command {
	var name, stateRoot string
	var keepData bool
	cmd := &cobra.Command{
		Use:          "down",
		Short:        "Remove a cluster made by skiff up: processes, containers, mounts, BPF pins, cgroups, network namespaces, links and (unless --keep-data) its data",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cluster.Open(name, cluster.Options{StateRoot: stateRoot})
			if err != nil {
				return err
			}
			if err := c.Down(keepData); err != nil {
				return err
			}
			if left := c.Leftovers(); len(left) > 0 {
				return fmt.Errorf("cluster %q is down but left behind: %v", name, left)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cluster %q removed\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", v1alpha1.DefaultName, "The cluster's name.")
	cmd.Flags().StringVar(&stateRoot, "state-dir", cluster.DefaultStateRoot, "Where clusters keep their state.")
	cmd.Flags().BoolVar(&keepData, "keep-data", false, "Keep the cluster's directory (etcd data, certificates, node state), so skiff up brings it back.")
	return cmd
}

// newStatusCommand is `skiff status`.
func newStatusCommand() *cobra.Command {
	var name, stateRoot string
	cmd := &cobra.Command{
		Use:          "status",
		Short:        "Show a skiff up cluster's components and nodes",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cluster.Open(name, cluster.Options{StateRoot: stateRoot})
			if err != nil {
				return err
			}
			return c.Status(cmd.Context(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&name, "name", v1alpha1.DefaultName, "The cluster's name.")
	cmd.Flags().StringVar(&stateRoot, "state-dir", cluster.DefaultStateRoot, "Where clusters keep their state.")
	return cmd
}
