// Package storagemigration declares storagemigration.k8s.io/v1
// StorageVersionMigrations with their status subresource.
package storagemigration

import (
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// Resources returns the storagemigration.k8s.io/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*storagemigrationv1.StorageVersionMigration]{
			GroupVersion: storagemigrationv1.SchemeGroupVersion, Resource: "storageversionmigrations",
			Singular: "storageversionmigration", Kind: "StorageVersionMigration",
			New: func() *storagemigrationv1.StorageVersionMigration {
				return &storagemigrationv1.StorageVersionMigration{}
			},
			NewList:        func() runtime.Object { return &storagemigrationv1.StorageVersionMigrationList{} },
			Status:         &registry.Status[*storagemigrationv1.StorageVersionMigration]{},
			TableConvertor: tables(storagemigrationv1.Resource("storageversionmigrations")),
		},
	}
}
