package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// envtestAssets are the names controller-runtime's envtest looks for in
// KUBEBUILDER_ASSETS.
var envtestAssets = []string{"kube-apiserver", "etcd", "kubectl"}

// newEnvtestAssetsCommand is `skiff envtest-assets DIR`: it lays out
// kube-apiserver, etcd and kubectl in DIR as links to this binary, so that
// KUBEBUILDER_ASSETS=DIR runs envtest on Skiff alone. Nothing is downloaded.
func newEnvtestAssetsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "envtest-assets DIR",
		Short: "Lay out kube-apiserver, etcd and kubectl in DIR for envtest's KUBEBUILDER_ASSETS",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the skiff binary: %w", err)
			}
			if self, err = filepath.EvalSymlinks(self); err != nil {
				return fmt.Errorf("find the skiff binary: %w", err)
			}
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			for _, name := range envtestAssets {
				path := filepath.Join(dir, name)
				if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("replace %s: %w", path, err)
				}
				if err := os.Symlink(self, path); err != nil {
					return fmt.Errorf("link %s: %w", path, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export KUBEBUILDER_ASSETS=%s\n", dir)
			return nil
		},
	}
}
