package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/skiff-dev/skiff/cluster/bootstrap"
	"github.com/skiff-dev/skiff/internal/bootstraptoken"
	"github.com/skiff-dev/skiff/kubelet/certificate"
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
	var printJoin bool
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
			if printJoin {
				// What a joined node runs besides the kubelet (its proxy).
				if err := bootstrap.EnsureJoinRBAC(ctx, c); err != nil {
					return err
				}
			}
			tok, err := bootstraptoken.Create(ctx, c, opts)
			if err != nil {
				return err
			}
			if !printJoin {
				fmt.Fprintln(cmd.OutOrStdout(), tok.String())
				return nil
			}
			line, err := joinCommand(ctx, c, tok.String())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			return nil
		},
	}
	create.Flags().BoolVar(&printJoin, "print-join-command", false, "Print the whole `skiff join` command line with the token, the server and the CA's hash from cluster-info, instead of the token alone.")
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

// joinCommand is the `skiff join` line for token: the server and CA that
// the cluster publishes in kube-public/cluster-info, the CA as its pin.
func joinCommand(ctx context.Context, c kubernetes.Interface, token string) (string, error) {
	cm, err := c.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read cluster-info for the join command (does the API server publish it?): %w", err)
	}
	kc, err := clientcmd.Load([]byte(cm.Data[bootstrapapi.KubeConfigKey]))
	if err != nil {
		return "", fmt.Errorf("cluster-info's kubeconfig: %w", err)
	}
	for _, cluster := range kc.Clusters {
		certs, err := certutil.ParseCertsPEM(cluster.CertificateAuthorityData)
		if err != nil || len(certs) == 0 {
			return "", fmt.Errorf("cluster-info's CA does not parse: %v", err)
		}
		return fmt.Sprintf("skiff join --server %s --token %s --discovery-token-ca-cert-hash %s", cluster.Server, token, certificate.CACertHash(certs[0])), nil
	}
	return "", errors.New("cluster-info's kubeconfig names no cluster")
}
