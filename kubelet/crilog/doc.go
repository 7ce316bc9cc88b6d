// Package crilog is a container's log writer: it copies the container's
// stdout and stderr into a file in the CRI log format
// (`<RFC3339Nano time> <stdout|stderr> <F|P> <line>`), as containerd's CRI
// plugin does. The containerd shim starts a logging binary per container
// (a binary:// log URI) with the arguments `skiff-cri-logger <path>`; a
// program acting as that binary calls RunIfInvoked first thing in main.
//
// The dedicated binary cmd/skiff-cri-logger runs it without the rest of
// Skiff: it lives for the container's whole life, so the package links only
// the standard library and containerd's logging package (no package inits,
// a few MB of memory). Binary picks which logging binary a kubelet uses.
package crilog
