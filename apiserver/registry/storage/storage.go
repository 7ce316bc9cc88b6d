// Package storage declares storage.k8s.io/v1: StorageClasses, CSIDrivers,
// CSINodes, CSIStorageCapacities, VolumeAttachments (with status) and
// VolumeAttributesClasses.
package storage

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	storagevalidation "github.com/skiff-dev/skiff/apiserver/validation/storage"
)

// Resources returns the storage.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := storagev1.SchemeGroupVersion
	table := func(r string) rest.TableConvertor { return tables(storagev1.Resource(r)) }
	return []registry.Resource{
		&registry.Definition[*storagev1.StorageClass]{
			GroupVersion: gv, Resource: "storageclasses", Singular: "storageclass", Kind: "StorageClass",
			ShortNames:     []string{"sc"},
			Validate:       storagevalidation.ValidateStorageClass,
			ValidateUpdate: storagevalidation.ValidateStorageClassUpdate,
			New:            func() *storagev1.StorageClass { return &storagev1.StorageClass{} },
			NewList:        func() runtime.Object { return &storagev1.StorageClassList{} },
			TableConvertor: table("storageclasses"),
		},
		&registry.Definition[*storagev1.CSIDriver]{
			GroupVersion: gv, Resource: "csidrivers", Singular: "csidriver", Kind: "CSIDriver",
			Validate:       storagevalidation.ValidateCSIDriver,
			ValidateUpdate: storagevalidation.ValidateCSIDriverUpdate,
			New:            func() *storagev1.CSIDriver { return &storagev1.CSIDriver{} },
			NewList:        func() runtime.Object { return &storagev1.CSIDriverList{} },
			Generation:     true,
			TableConvertor: table("csidrivers"),
		},
		&registry.Definition[*storagev1.CSINode]{
			GroupVersion: gv, Resource: "csinodes", Singular: "csinode", Kind: "CSINode",
			Validate:       storagevalidation.ValidateCSINode,
			ValidateUpdate: storagevalidation.ValidateCSINodeUpdate,
			New:            func() *storagev1.CSINode { return &storagev1.CSINode{} },
			NewList:        func() runtime.Object { return &storagev1.CSINodeList{} },
			TableConvertor: table("csinodes"),
		},
		&registry.Definition[*storagev1.CSIStorageCapacity]{
			GroupVersion: gv, Resource: "csistoragecapacities", Singular: "csistoragecapacity", Kind: "CSIStorageCapacity", Namespaced: true,
			Validate:       storagevalidation.ValidateCSIStorageCapacity,
			ValidateUpdate: storagevalidation.ValidateCSIStorageCapacityUpdate,
			New:            func() *storagev1.CSIStorageCapacity { return &storagev1.CSIStorageCapacity{} },
			NewList:        func() runtime.Object { return &storagev1.CSIStorageCapacityList{} },
			TableConvertor: table("csistoragecapacities"),
		},
		&registry.Definition[*storagev1.VolumeAttachment]{
			GroupVersion: gv, Resource: "volumeattachments", Singular: "volumeattachment", Kind: "VolumeAttachment",
			Validate:       storagevalidation.ValidateVolumeAttachment,
			ValidateUpdate: storagevalidation.ValidateVolumeAttachmentUpdate,
			New:            func() *storagev1.VolumeAttachment { return &storagev1.VolumeAttachment{} },
			NewList:        func() runtime.Object { return &storagev1.VolumeAttachmentList{} },
			Status:         &registry.Status[*storagev1.VolumeAttachment]{ValidateUpdate: storagevalidation.ValidateVolumeAttachmentStatusUpdate},
			TableConvertor: table("volumeattachments"),
		},
		&registry.Definition[*storagev1.VolumeAttributesClass]{
			GroupVersion: gv, Resource: "volumeattributesclasses", Singular: "volumeattributesclass", Kind: "VolumeAttributesClass",
			ShortNames:     []string{"vac"},
			Validate:       storagevalidation.ValidateVolumeAttributesClass,
			ValidateUpdate: storagevalidation.ValidateVolumeAttributesClassUpdate,
			New:            func() *storagev1.VolumeAttributesClass { return &storagev1.VolumeAttributesClass{} },
			NewList:        func() runtime.Object { return &storagev1.VolumeAttributesClassList{} },
			TableConvertor: table("volumeattributesclasses"),
		},
	}
}
