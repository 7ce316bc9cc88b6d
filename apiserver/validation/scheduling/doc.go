// Package scheduling validates scheduling.k8s.io/v1 PriorityClasses with
// upstream kube-apiserver's field paths, error types and messages, including
// the rules reserving the "system-" name prefix for the two built-in classes.
// That at most one class is the global default is enforced by admission
// (upstream's Priority plugin), not here.
package scheduling
