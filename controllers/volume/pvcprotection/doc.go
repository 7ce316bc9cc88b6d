// Package pvcprotection is the PVC protection controller ("pvc-protection"):
// a PersistentVolumeClaim being deleted keeps its kubernetes.io/pvc-protection
// finalizer (added at admission) until no scheduled pod uses it, checked in
// the cache and then, to be sure, in a live list of the namespace's pods.
package pvcprotection
