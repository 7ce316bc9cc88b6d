// Package persistentvolumeclaimresize provides the
// PersistentVolumeClaimResize admission plugin: growing
// spec.resources.requests.storage of a PersistentVolumeClaim is allowed
// only for a bound claim whose StorageClass (unchanged by the update) has
// allowVolumeExpansion: true, as upstream's plugin of that name does.
// Shrinking and other changes are left to validation.
package persistentvolumeclaimresize
