// Package cgroups finds the host's cgroup hierarchies (every cgroup v1
// controller mount and the cgroup2 tree, alone or in hybrid mode) and
// handles whole subtrees of them: creating one in every hierarchy, killing
// every process in it and removing it, children first.
package cgroups
