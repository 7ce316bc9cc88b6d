package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// TestStorageSchedulingFlowcontrolDefaults covers the storage.k8s.io,
// scheduling.k8s.io and flowcontrol.apiserver.k8s.io defaults.
func TestStorageSchedulingFlowcontrolDefaults(t *testing.T) {
	defaultedDriver := storagev1.CSIDriverSpec{
		AttachRequired: ptr.To(true), PodInfoOnMount: ptr.To(false), StorageCapacity: ptr.To(false),
		FSGroupPolicy:        ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
		VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		RequiresRepublish:    ptr.To(false), SELinuxMount: ptr.To(false),
	}
	queuing := func(h, q, l int32) *flowcontrolv1.QueuingConfiguration {
		return &flowcontrolv1.QueuingConfiguration{HandSize: h, Queues: q, QueueLengthLimit: l}
	}
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "storage class",
			obj:  &storagev1.StorageClass{Provisioner: "p"},
			want: &storagev1.StorageClass{Provisioner: "p", ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate)},
		},
		{
			name: "storage class keeps set values",
			obj: &storagev1.StorageClassList{Items: []storagev1.StorageClass{{
				ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain), VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}}},
			want: &storagev1.StorageClassList{Items: []storagev1.StorageClass{{
				ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain), VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}}},
		},
		{
			name: "csi driver",
			obj:  &storagev1.CSIDriver{},
			want: &storagev1.CSIDriver{Spec: defaultedDriver},
		},
		{
			name: "csi driver keeps set values",
			obj: &storagev1.CSIDriverList{Items: []storagev1.CSIDriver{{Spec: storagev1.CSIDriverSpec{
				AttachRequired: ptr.To(false), FSGroupPolicy: ptr.To(storagev1.NoneFSGroupPolicy),
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral}, SELinuxMount: ptr.To(true)}}}},
			want: &storagev1.CSIDriverList{Items: []storagev1.CSIDriver{{Spec: storagev1.CSIDriverSpec{
				AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(false), StorageCapacity: ptr.To(false),
				FSGroupPolicy:        ptr.To(storagev1.NoneFSGroupPolicy),
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral},
				RequiresRepublish:    ptr.To(false), SELinuxMount: ptr.To(true)}}}},
		},
		{name: "csi node has none", obj: &storagev1.CSINode{}, want: &storagev1.CSINode{}},
		{
			name: "priority class",
			obj:  &schedulingv1.PriorityClassList{Items: []schedulingv1.PriorityClass{{}, {PreemptionPolicy: ptr.To(corev1.PreemptNever)}}},
			want: &schedulingv1.PriorityClassList{Items: []schedulingv1.PriorityClass{
				{PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority)}, {PreemptionPolicy: ptr.To(corev1.PreemptNever)}}},
		},
		{
			name: "flow schema",
			obj:  &flowcontrolv1.FlowSchemaList{Items: []flowcontrolv1.FlowSchema{{}, {Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 7}}}},
			want: &flowcontrolv1.FlowSchemaList{Items: []flowcontrolv1.FlowSchema{
				{Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 1000}}, {Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 7}}}},
		},
		{
			name: "limited priority level",
			obj: &flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{Queuing: queuing(0, 0, 0)}}}},
			want: &flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](30), LendablePercent: ptr.To[int32](0),
					LimitResponse: flowcontrolv1.LimitResponse{Queuing: queuing(8, 64, 50)}}}},
		},
		{
			name: "priority level keeps zero shares and set queuing",
			obj: &flowcontrolv1.PriorityLevelConfigurationList{Items: []flowcontrolv1.PriorityLevelConfiguration{{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](0), LimitResponse: flowcontrolv1.LimitResponse{Queuing: queuing(1, 2, 3)}}}}}},
			want: &flowcontrolv1.PriorityLevelConfigurationList{Items: []flowcontrolv1.PriorityLevelConfiguration{{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](0), LendablePercent: ptr.To[int32](0),
					LimitResponse: flowcontrolv1.LimitResponse{Queuing: queuing(1, 2, 3)}}}}}},
		},
		{
			name: "exempt priority level",
			obj:  &flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{}}},
			want: &flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](0), LendablePercent: ptr.To[int32](0)}}},
		},
	}
	s := schemeWithDefaults(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Default(tt.obj)
			if diff := cmp.Diff(tt.want, tt.obj); diff != "" {
				t.Errorf("defaulted object differs (-want +got):\n%s", diff)
			}
		})
	}
}
