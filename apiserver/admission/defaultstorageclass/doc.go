// Package defaultstorageclass provides the DefaultStorageClass admission
// plugin: a PersistentVolumeClaim created without a storage class gets the
// cluster's default StorageClass (the newest one annotated
// storageclass.kubernetes.io/is-default-class=true).
package defaultstorageclass
