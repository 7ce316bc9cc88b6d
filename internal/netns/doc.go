// Package netns creates, enters and removes pinned Linux network
// namespaces: a namespace bind-mounted on a file outlives the processes in
// it, so pods' sandboxes and `skiff up`'s node "machines" can be created,
// entered and torn down by path. Entering is always done on a locked OS
// thread that is never returned to the Go scheduler.
package netns
