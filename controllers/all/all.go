package all

import (
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/bootstrapsigner"
	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/cronjob"
	"github.com/skiff-dev/skiff/controllers/daemonset"
	"github.com/skiff-dev/skiff/controllers/deployment"
	"github.com/skiff-dev/skiff/controllers/disruption"
	"github.com/skiff-dev/skiff/controllers/endpoint"
	"github.com/skiff-dev/skiff/controllers/endpointslice"
	"github.com/skiff-dev/skiff/controllers/endpointslicemirroring"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/controllers/job"
	"github.com/skiff-dev/skiff/controllers/namespace"
	"github.com/skiff-dev/skiff/controllers/nodeipam"
	"github.com/skiff-dev/skiff/controllers/nodelifecycle"
	"github.com/skiff-dev/skiff/controllers/podautoscaler"
	"github.com/skiff-dev/skiff/controllers/podgc"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/controllers/resourcequota"
	"github.com/skiff-dev/skiff/controllers/rootcacertpublisher"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
	"github.com/skiff-dev/skiff/controllers/servicecidrs"
	"github.com/skiff-dev/skiff/controllers/statefulset"
	"github.com/skiff-dev/skiff/controllers/tokencleaner"
	"github.com/skiff-dev/skiff/controllers/ttlafterfinished"
	"github.com/skiff-dev/skiff/controllers/volume/persistentvolume"
	"github.com/skiff-dev/skiff/controllers/volume/pvcprotection"
	"github.com/skiff-dev/skiff/controllers/volume/pvprotection"
)

// Descriptors returns every controller Skiff has.
func Descriptors() []controllers.Descriptor {
	return []controllers.Descriptor{
		garbagecollector.Descriptor,
		namespace.Descriptor,
		deployment.Descriptor,
		replicaset.Descriptor,
		replicaset.ReplicationControllerDescriptor,
		statefulset.Descriptor,
		daemonset.Descriptor,
		job.Descriptor,
		cronjob.Descriptor,
		ttlafterfinished.Descriptor,
		endpoint.Descriptor,
		endpointslice.Descriptor,
		endpointslicemirroring.Descriptor,
		serviceaccount.Descriptor,
		serviceaccount.TokenDescriptor,
		rootcacertpublisher.Descriptor,
		tokencleaner.Descriptor,
		bootstrapsigner.Descriptor,
		nodeipam.Descriptor,
		nodelifecycle.Descriptor,
		nodelifecycle.TaintEvictionDescriptor,
		podgc.Descriptor,
		certificates.ApprovingDescriptor,
		certificates.SigningDescriptor,
		certificates.CleanerDescriptor,
		resourcequota.Descriptor,
		disruption.Descriptor,
		persistentvolume.Descriptor,
		pvcprotection.Descriptor,
		pvprotection.Descriptor,
		podautoscaler.Descriptor,
		servicecidrs.Descriptor,
	}
}
