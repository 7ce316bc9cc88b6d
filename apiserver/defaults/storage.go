package defaults

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addStorageDefaults registers upstream's defaults for storage.k8s.io/v1: a
// StorageClass's reclaim policy (Delete) and binding mode (Immediate), and a
// CSIDriver's attach, pod-info, capacity, fsGroup, lifecycle, republish and
// SELinux settings. The other storage kinds have none.
func addStorageDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&storagev1.StorageClass{}, func(o interface{}) {
		defaultStorageClass(o.(*storagev1.StorageClass))
	})
	s.AddTypeDefaultingFunc(&storagev1.StorageClassList{}, func(o interface{}) {
		l := o.(*storagev1.StorageClassList)
		for i := range l.Items {
			defaultStorageClass(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&storagev1.CSIDriver{}, func(o interface{}) {
		defaultCSIDriverSpec(&o.(*storagev1.CSIDriver).Spec)
	})
	s.AddTypeDefaultingFunc(&storagev1.CSIDriverList{}, func(o interface{}) {
		l := o.(*storagev1.CSIDriverList)
		for i := range l.Items {
			defaultCSIDriverSpec(&l.Items[i].Spec)
		}
	})
}

func defaultStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		policy := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &policy
	}
	if sc.VolumeBindingMode == nil {
		mode := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &mode
	}
}

// defaultCSIDriverSpec fills the unset fields as upstream does with its
// CSIVolumeFSGroupPolicy, CSIInlineVolume and SELinuxMountReadWriteOncePod
// gates on (they are GA or default-on in 1.37).
func defaultCSIDriverSpec(spec *storagev1.CSIDriverSpec) {
	setBool := func(p **bool, v bool) {
		if *p == nil {
			*p = &v
		}
	}
	setBool(&spec.AttachRequired, true)
	setBool(&spec.PodInfoOnMount, false)
	setBool(&spec.StorageCapacity, false)
	if spec.FSGroupPolicy == nil {
		policy := storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy
		spec.FSGroupPolicy = &policy
	}
	if len(spec.VolumeLifecycleModes) == 0 {
		spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
	setBool(&spec.RequiresRepublish, false)
	setBool(&spec.SELinuxMount, false)
}
