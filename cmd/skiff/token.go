package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/internal/bootstraptoken"
)

// newTokenCommand is `skiff token`: bootstrap tokens for joining nodes, as
// `kubeadm token` manages them.
func newTokenCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage bootstrap tokens, with which nodes join the cluster (skiff join --token)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", "", "Admin kubeconfig of the cluster (default: $KUBECONFIG, else the local Skiff server's admin kubeconfig).")
	client := func() (kubernetes.Interface, error) {
		path := kubeconfig
		if path == "" && os.Getenv("KUBECONFIG") == "" {
			path = localAdminKubeconfig()
		}
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = path
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig (give --kubeconfig): %w", err)
		}
		return kubernetes.NewForConfig(cfg)
	}

	var ttl time.Duration
	var description string
	var usages, groups []string
	create := &cobra.Command{
		Use:   "create [TOKEN]",
		Short: "Create a bootstrap token (random unless given, as abcdef.0123456789abcdef) and print it",
		Long: "Create a bootstrap token and print it. The RBAC bindings that let its groups request node client\n" +
			"certificates and get them approved (as kubeadm creates them) are ensured first.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			opts := bootstraptoken.CreateOptions{TTL: ttl, Description: description, Usages: usages, Groups: groups}
			if !cmd.Flags().Changed("usages") {
				opts.Usages = nil
			}
			if len(args) == 1 {
				opts.Token = args[0]
			}
			if cmd.Flags().Changed("groups") && len(groups) == 0 {
				opts.Groups = []string{}
			}
			ctx := cmd.Context()
			rbacGroups := opts.Groups
			if rbacGroups == nil {
				rbacGroups = []string{bootstraptoken.DefaultGroup}
			}
			authn := opts.Usages == nil || slices.Contains(opts.Usages, "authentication")
			if authn && len(rbacGroups) > 0 {
				if err := bootstraptoken.EnsureRBAC(ctx, c, rbacGroups...); err != nil {
					return fmt.Errorf("ensure the node bootstrap RBAC bindings: %w", err)
				}
			}
			tok, err := bootstraptoken.Create(ctx, c, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok.String())
			return nil
		},
	}
	create.Flags().DurationVar(&ttl, "ttl", bootstraptoken.DefaultTTL, "How long the token is valid (0: it never expires).")
	create.Flags().StringVar(&description, "description", "", "A human friendly description of the token.")
	create.Flags().StringSliceVar(&usages, "usages", bootstraptoken.DefaultUsages, "What the token may be used for: signing (discovery), authentication (TLS bootstrap).")
	create.Flags().StringSliceVar(&groups, "groups", []string{bootstraptoken.DefaultGroup}, "Extra groups the token authenticates as, each system:bootstrappers:<name>.")

	list := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			tokens, err := bootstraptoken.List(cmd.Context(), c)
			if err != nil {
				return err
			}
			return bootstraptoken.PrintList(cmd.OutOrStdout(), tokens, time.Now())
		},
	}
	del := &cobra.Command{
		Use:   "delete TOKEN-ID [TOKEN-ID...]",
		Short: "Delete bootstrap tokens, by ID (abcdef) or whole token",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := bootstraptoken.Delete(cmd.Context(), c, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "bootstrap token %q deleted\n", id)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
