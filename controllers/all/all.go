package all

import (
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/endpoint"
	"github.com/skiff-dev/skiff/controllers/endpointslice"
	"github.com/skiff-dev/skiff/controllers/endpointslicemirroring"
	"github.com/skiff-dev/skiff/controllers/rootcacertpublisher"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
	"github.com/skiff-dev/skiff/controllers/tokencleaner"
)

// Descriptors returns every controller Skiff has.
func Descriptors() []controllers.Descriptor {
	return []controllers.Descriptor{
		endpoint.Descriptor,
		endpointslice.Descriptor,
		endpointslicemirroring.Descriptor,
		serviceaccount.Descriptor,
		serviceaccount.TokenDescriptor,
		rootcacertpublisher.Descriptor,
		tokencleaner.Descriptor,
	}
}
