// Command skiff is the single Skiff binary. Each subcommand maps its flags to
// one component's Config and starts it; no component logic lives here.
//
// Invoked under the name kube-apiserver or etcd (for example through a
// symlink in a KUBEBUILDER_ASSETS directory), it behaves as
// `skiff kube-apiserver` or `skiff etcd`.
package main

import (
	"os"
	"path/filepath"

	"k8s.io/component-base/cli"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

func main() {
	// The containerd shim runs this binary as a container's log writer.
	runtime.RunLoggerIfInvoked()
	cmd := newRootCommand()
	if alias, ok := aliases()[filepath.Base(os.Args[0])]; ok {
		cmd = alias()
	}
	os.Exit(cli.Run(cmd))
}
