// Package storageobjectinuseprotection provides the
// StorageObjectInUseProtection admission plugin: new PersistentVolumes get
// the kubernetes.io/pv-protection finalizer, new PersistentVolumeClaims
// kubernetes.io/pvc-protection and new VolumeAttributesClasses
// kubernetes.io/vac-protection, so that the protection controllers can hold
// their deletion while they are in use.
package storageobjectinuseprotection
