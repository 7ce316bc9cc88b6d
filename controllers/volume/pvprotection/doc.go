// Package pvprotection is the PV protection controller ("pv-protection"): a
// PersistentVolume being deleted keeps its kubernetes.io/pv-protection
// finalizer (added at admission) while it is Bound to a claim.
package pvprotection
