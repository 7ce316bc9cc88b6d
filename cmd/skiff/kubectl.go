package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
)

// newKubectlCommand is `skiff kubectl` (and the binary invoked as kubectl):
// upstream kubectl from k8s.io/kubectl, of the server's version. With no
// --kubeconfig flag and no KUBECONFIG, it uses the local server's admin
// kubeconfig.
func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl [kubectl arguments]",
		Short:              "Run kubectl (upstream k8s.io/kubectl, built in)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
				if path := localAdminKubeconfig(); path != "" {
					os.Setenv("KUBECONFIG", path)
				}
			}
			k := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
				PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
				Arguments:     append([]string{"kubectl"}, args...),
				IOStreams:     ioStreams(),
			})
			k.SetArgs(args)
			return k.Execute()
		},
	}
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") {
			return true
		}
	}
	return false
}

// localAdminKubeconfig returns the admin kubeconfig of a Skiff API server
// on this host ($SKIFF_DATA_DIR, else /var/lib/skiff), if there is one.
func localAdminKubeconfig() string {
	dir := os.Getenv("SKIFF_DATA_DIR")
	if dir == "" {
		dir = "/var/lib/skiff"
	}
	path := filepath.Join(dir, "admin.kubeconfig")
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

func ioStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}
