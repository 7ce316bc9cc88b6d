// Package manager builds and runs Skiff's controller manager: one
// controller-runtime manager (shared informer cache, leader election on a
// Lease, health probes) with the controllers selected by name, as
// kube-controller-manager's --controllers flag selects them.
package manager
