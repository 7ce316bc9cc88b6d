package defaults

import (
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addResourceDefaults registers upstream's defaults for resource.k8s.io/v1:
// device requests and subrequests allocate an exact count (1 unless set),
// device tolerations use the Equal operator, and a device taint (of a
// ResourceSlice or a DeviceTaintRule) without a time gets the current
// second.
func addResourceDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&resourcev1.ResourceClaim{}, func(o interface{}) {
		defaultDeviceClaim(&o.(*resourcev1.ResourceClaim).Spec.Devices)
	})
	s.AddTypeDefaultingFunc(&resourcev1.ResourceClaimList{}, func(o interface{}) {
		l := o.(*resourcev1.ResourceClaimList)
		for i := range l.Items {
			defaultDeviceClaim(&l.Items[i].Spec.Devices)
		}
	})
	s.AddTypeDefaultingFunc(&resourcev1.ResourceClaimTemplate{}, func(o interface{}) {
		defaultDeviceClaim(&o.(*resourcev1.ResourceClaimTemplate).Spec.Spec.Devices)
	})
	s.AddTypeDefaultingFunc(&resourcev1.ResourceClaimTemplateList{}, func(o interface{}) {
		l := o.(*resourcev1.ResourceClaimTemplateList)
		for i := range l.Items {
			defaultDeviceClaim(&l.Items[i].Spec.Spec.Devices)
		}
	})
	s.AddTypeDefaultingFunc(&resourcev1.ResourceSlice{}, func(o interface{}) {
		defaultSliceDevices(o.(*resourcev1.ResourceSlice).Spec.Devices)
	})
	s.AddTypeDefaultingFunc(&resourcev1.ResourceSliceList{}, func(o interface{}) {
		l := o.(*resourcev1.ResourceSliceList)
		for i := range l.Items {
			defaultSliceDevices(l.Items[i].Spec.Devices)
		}
	})
	s.AddTypeDefaultingFunc(&resourcev1.DeviceTaintRule{}, func(o interface{}) {
		defaultTaintTime(&o.(*resourcev1.DeviceTaintRule).Spec.Taint)
	})
	s.AddTypeDefaultingFunc(&resourcev1.DeviceTaintRuleList{}, func(o interface{}) {
		l := o.(*resourcev1.DeviceTaintRuleList)
		for i := range l.Items {
			defaultTaintTime(&l.Items[i].Spec.Taint)
		}
	})
}

func defaultDeviceClaim(claim *resourcev1.DeviceClaim) {
	for i := range claim.Requests {
		r := &claim.Requests[i]
		if e := r.Exactly; e != nil {
			defaultAllocationMode(&e.AllocationMode, &e.Count)
			defaultTolerations(e.Tolerations)
		}
		for j := range r.FirstAvailable {
			sub := &r.FirstAvailable[j]
			defaultAllocationMode(&sub.AllocationMode, &sub.Count)
			defaultTolerations(sub.Tolerations)
		}
	}
}

func defaultAllocationMode(mode *resourcev1.DeviceAllocationMode, count *int64) {
	if *mode == "" {
		*mode = resourcev1.DeviceAllocationModeExactCount
	}
	if *mode == resourcev1.DeviceAllocationModeExactCount && *count == 0 {
		*count = 1
	}
}

func defaultTolerations(tolerations []resourcev1.DeviceToleration) {
	for i := range tolerations {
		if tolerations[i].Operator == "" {
			tolerations[i].Operator = resourcev1.DeviceTolerationOpEqual
		}
	}
}

func defaultSliceDevices(devices []resourcev1.Device) {
	for i := range devices {
		for j := range devices[i].Taints {
			defaultTaintTime(&devices[i].Taints[j])
		}
	}
}

// defaultTaintTime sets an unset TimeAdded to the current second (encoding
// keeps no finer resolution).
func defaultTaintTime(t *resourcev1.DeviceTaint) {
	if t.TimeAdded == nil {
		t.TimeAdded = &metav1.Time{Time: time.Now().Truncate(time.Second)}
	}
}
