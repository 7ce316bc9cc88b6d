package resource

import (
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func claim() *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default", ResourceVersion: "1"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{
			Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1},
		}}}},
	}
}

func TestValidateResourceClaimRequests(t *testing.T) {
	c := claim()
	vt.Expect(t, ValidateResourceClaim(c))
	c.Spec.Devices.Requests[0].Exactly.Count = 0
	c.Spec.Devices.Requests[0].Exactly.Selectors = []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: "1"}}}
	c.Spec.Devices.Requests[0].FirstAvailable = []resourcev1.DeviceSubRequest{{Name: "x"}}
	vt.Expect(t, ValidateResourceClaim(c), vt.Invalid("spec.devices.requests[0]", "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set"))
	c.Spec.Devices.Requests[0].FirstAvailable = nil
	vt.Expect(t, ValidateResourceClaim(c),
		vt.Invalid("spec.devices.requests[0].exactly.count", "must be greater than zero"),
		vt.Invalid("spec.devices.requests[0].exactly.selectors[0].cel.expression", "must evaluate to bool"))
}

func TestValidateResourceClaimUpdates(t *testing.T) {
	old := claim()
	changed := claim()
	changed.Spec.Devices.Requests[0].Exactly.Count = 2
	vt.Expect(t, ValidateResourceClaimUpdate(changed, old), vt.Invalid("spec", "field is immutable"))

	reserved := claim()
	reserved.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "u1"}, {UID: "u1"}}
	vt.Expect(t, ValidateResourceClaimStatusUpdate(reserved, old),
		vt.Required("status.reservedFor[1].resource", ""),
		vt.Required("status.reservedFor[1].name", ""),
		vt.Want{Type: "FieldValueDuplicate", Field: "status.reservedFor[1]"},
		vt.Forbidden("status.reservedFor", "may not be specified when `allocated` is not set"))

	allocated := claim()
	allocated.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
		{Request: "gpu", Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-0"},
		{Request: "nope", Driver: "", Pool: "", Device: "GPU_1"},
	}}}
	vt.Expect(t, ValidateResourceClaimStatusUpdate(allocated, old),
		vt.Invalid("status.allocation.devices.results[1].request", "must be the name of a request in the claim"),
		vt.Required("status.allocation.devices.results[1].driver", ""),
		vt.Required("status.allocation.devices.results[1].pool", ""),
		vt.Invalid("status.allocation.devices.results[1].device", "a lowercase RFC 1123 label"))

	allocated.Status.Allocation.Devices.Results = allocated.Status.Allocation.Devices.Results[:1]
	realloc := allocated.DeepCopy()
	realloc.Status.Allocation.Devices.Results[0].Device = "gpu-1"
	vt.Expect(t, ValidateResourceClaimStatusUpdate(realloc, allocated), vt.Invalid("status.allocation", "field is immutable"))

	deleting := allocated.DeepCopy()
	deleting.DeletionTimestamp = ptr.To(metav1.Now())
	deleting.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "u1"}}
	oldDeleting := allocated.DeepCopy()
	oldDeleting.DeletionTimestamp = deleting.DeletionTimestamp
	vt.Expect(t, ValidateResourceClaimStatusUpdate(deleting, oldDeleting),
		vt.Forbidden("status.reservedFor", "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set"))
}

func TestValidateResourceClaimTemplate(t *testing.T) {
	tmpl := &resourcev1.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default", ResourceVersion: "1"},
		Spec:       resourcev1.ResourceClaimTemplateSpec{Spec: claim().Spec},
	}
	vt.Expect(t, ValidateResourceClaimTemplate(tmpl))
	bad := tmpl.DeepCopy()
	bad.Spec.Name = "fixed"
	bad.Spec.Spec.Devices.Requests[0].Name = "GPU"
	vt.Expect(t, ValidateResourceClaimTemplate(bad),
		vt.Forbidden("spec.metadata", "cannot be set"),
		vt.Invalid("spec.spec.devices.requests[0].name", "a lowercase RFC 1123 label"))
	vt.Expect(t, ValidateResourceClaimTemplateUpdate(bad, tmpl), vt.Invalid("spec", "field is immutable"))
}

func TestValidateResourceSlice(t *testing.T) {
	slice := &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: "1"},
		Spec: resourcev1.ResourceSliceSpec{Driver: "gpu.example.com", NodeName: ptr.To("node-1"),
			Pool:    resourcev1.ResourcePool{Name: "node-1", Generation: 1, ResourceSliceCount: 1},
			Devices: []resourcev1.Device{{Name: "gpu-0"}}},
	}
	vt.Expect(t, ValidateResourceSlice(slice))
	bad := slice.DeepCopy()
	bad.Spec.Driver = ""
	bad.Spec.Pool = resourcev1.ResourcePool{Generation: -1}
	bad.Spec.AllNodes = ptr.To(true)
	bad.Spec.Devices = append(bad.Spec.Devices, resourcev1.Device{Name: "gpu-0"})
	vt.Expect(t, ValidateResourceSlice(bad),
		vt.Required("spec.driver", ""),
		vt.Required("spec.pool.name", ""),
		vt.Invalid("spec.pool.generation", "must be greater than or equal to zero"),
		vt.Invalid("spec.pool.resourceSliceCount", "must be greater than zero"),
		vt.Invalid("spec", "but multiple fields are set"),
		vt.Want{Type: "FieldValueDuplicate", Field: "spec.devices[1]"})
	moved := slice.DeepCopy()
	moved.Spec.NodeName = ptr.To("node-2")
	vt.Expect(t, ValidateResourceSliceUpdate(moved, slice), vt.Invalid("spec.nodeName", "field is immutable"))
}

func TestValidateResourceSliceLimits(t *testing.T) {
	base := func() *resourcev1.ResourceSlice {
		return &resourcev1.ResourceSlice{
			ObjectMeta: metav1.ObjectMeta{Name: "s"},
			Spec: resourcev1.ResourceSliceSpec{Driver: "gpu.example.com", AllNodes: ptr.To(true),
				Pool: resourcev1.ResourcePool{Name: "p", ResourceSliceCount: 1}},
		}
	}
	devices := func(n int, taint bool) []resourcev1.Device {
		out := make([]resourcev1.Device, n)
		for i := range out {
			out[i].Name = "d" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			if taint {
				out[i].Taints = []resourcev1.DeviceTaint{{Key: "k", Effect: resourcev1.DeviceTaintEffectNoSchedule}}
			}
		}
		return out
	}
	tests := []struct {
		name string
		edit func(*resourcev1.ResourceSlice)
		want []vt.Want
	}{
		{name: "128 plain devices", edit: func(s *resourcev1.ResourceSlice) { s.Spec.Devices = devices(128, false) }},
		{name: "129 plain devices", edit: func(s *resourcev1.ResourceSlice) { s.Spec.Devices = devices(129, false) },
			want: []vt.Want{{Type: "FieldValueTooMany", Field: "spec.devices"}}},
		{name: "65 tainted devices", edit: func(s *resourcev1.ResourceSlice) { s.Spec.Devices = devices(65, true) },
			want: []vt.Want{{Type: "FieldValueTooMany", Field: "spec.devices"}}},
		{name: "counters and devices", edit: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices = devices(1, false)
			s.Spec.SharedCounters = []resourcev1.CounterSet{{Name: "mem", Counters: map[string]resourcev1.Counter{"memory": {}}}}
		}, want: []vt.Want{vt.Invalid("spec", "only one of `sharedCounters` or `devices` is allowed")}},
		{name: "counter set without counters", edit: func(s *resourcev1.ResourceSlice) {
			s.Spec.SharedCounters = []resourcev1.CounterSet{{Name: "mem"}, {Name: "mem", Counters: map[string]resourcev1.Counter{"Bad_Name": {}}}}
		}, want: []vt.Want{
			vt.Required("spec.sharedCounters[0].counters", ""),
			vt.Invalid("spec.sharedCounters[1].counters", "a lowercase RFC 1123 label"),
			{Type: "FieldValueDuplicate", Field: "spec.sharedCounters[1]"},
		}},
		{name: "per-device selection missing on a device", edit: func(s *resourcev1.ResourceSlice) {
			s.Spec.AllNodes, s.Spec.PerDeviceNodeSelection = nil, ptr.To(true)
			s.Spec.Devices = devices(1, false)
		}, want: []vt.Want{vt.Required("spec.devices[0]", "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(s)
			vt.Expect(t, ValidateResourceSlice(s), tc.want...)
		})
	}
}
