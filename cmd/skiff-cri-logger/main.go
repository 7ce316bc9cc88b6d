// Command skiff-cri-logger is the containerd shim's log writer for Skiff's
// containers: the shim starts it per container as
// `skiff-cri-logger skiff-cri-logger <log path>` (a binary:// log URI) and it
// writes the container's stdout and stderr to the file in the CRI log format
// until the container's streams close.
//
// It does what `skiff` itself does when invoked that way, without linking the
// rest of Skiff: it runs for the container's whole life, and the skiff binary
// would start every package's init and hold ~100 MB at start for it. A kubelet
// uses it when it lies next to the skiff executable (or is named with
// --cri-logger). hack/build.sh builds it into bin/ beside skiff.
package main

import (
	"fmt"
	"os"

	"github.com/skiff-dev/skiff/kubelet/crilog"
)

// version is stamped by hack/build.sh (-ldflags -X main.version=...).
var version = "0.0.0-dev"

func main() {
	crilog.RunIfInvoked()
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println(version)
		return
	}
	fmt.Fprintf(os.Stderr, "usage: %s %s <log file>\n"+
		"Started by the containerd shim for each of Skiff's containers; writes its stdout and stderr in the CRI log format.\n"+
		"%s version: print the version.\n", os.Args[0], crilog.Arg, os.Args[0])
	os.Exit(2)
}
