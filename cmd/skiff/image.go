package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/kubelet/images"
	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// defaultBusyboxImage is the name `skiff image build-busybox` stores: not
// :latest, whose default pull policy is Always, as upstream.
const defaultBusyboxImage = "skiff.dev/busybox:static"

// newImageCommand is `skiff image`: images in a kubelet's containerd, for
// machines with no registry to pull from.
func newImageCommand() *cobra.Command {
	var dataDir, address string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Import or build images in a node's container runtime",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "/var/lib/skiff/kubelet", "The kubelet's --data-dir, whose containerd receives the images (the kubelet must be running).")
	cmd.PersistentFlags().StringVar(&address, "containerd-address", "", "The socket of a containerd to use instead (the kubelet's --containerd-address).")
	connect := func(ctx context.Context) (*runtime.Runtime, error) {
		addr := address
		if addr == "" {
			addr = runtime.SupervisedSocket(filepath.Join(dataDir, "containerd"))
			if _, err := os.Stat(addr); err != nil {
				return nil, fmt.Errorf("no containerd socket at %s: is `skiff kubelet --data-dir %s` running? (or pass --containerd-address)", addr, dataDir)
			}
		}
		return runtime.New(ctx, runtime.Config{DataDir: dataDir, ContainerdAddress: addr})
	}

	importCmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import docker (docker save) or OCI image archives",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			for _, path := range args {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				imgs, err := rt.ImportArchive(cmd.Context(), f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				if len(imgs) == 0 {
					return fmt.Errorf("%s: the archive names no image", path)
				}
				for _, im := range imgs {
					fmt.Fprintf(cmd.OutOrStdout(), "imported %s %s\n", im.Name, im.ID)
				}
			}
			return nil
		},
	}

	var name, binary string
	busybox := &cobra.Command{
		Use:   "build-busybox",
		Short: "Build a small busybox image from this machine's static busybox and store it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(binary); err != nil {
				return errors.New("no static busybox at " + binary + ": install busybox-static (hack/install-deps.sh) or pass --busybox")
			}
			img, err := images.Busybox(images.BusyboxOptions{Binary: binary})
			if err != nil {
				return err
			}
			rt, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			im, err := rt.ImportImage(cmd.Context(), name, img)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s %s\n", im.Name, im.ID)
			return nil
		},
	}
	busybox.Flags().StringVar(&name, "name", defaultBusyboxImage, "The image name to store it as.")
	busybox.Flags().StringVar(&binary, "busybox", images.DefaultBusyboxBinary, "The static busybox binary to build from.")
	cmd.AddCommand(importCmd, busybox)
	return cmd
}
