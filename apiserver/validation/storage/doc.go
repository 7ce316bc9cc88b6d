// Package storage validates the storage.k8s.io/v1 kinds (StorageClass,
// CSIDriver, CSINode, CSIStorageCapacity, VolumeAttachment with its status,
// VolumeAttributesClass) with upstream kube-apiserver's field paths, error
// types and messages. A VolumeAttachment's inline volume spec is checked for
// what an attachable inline CSI volume needs; the other in-tree volume
// sources belong to PersistentVolume validation, not here.
package storage
