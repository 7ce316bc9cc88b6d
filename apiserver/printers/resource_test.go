package printers

import (
	"testing"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestResourceRows(t *testing.T) {
	deleting := objMeta("gone", day)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	testRows(t, schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceclaims"}, []rowCase{
		{name: "pending", obj: &resourcev1.ResourceClaim{ObjectMeta: objMeta("gpu", day)}, cells: []any{"gpu", "pending", "24h"}},
		{
			name:  "allocated and reserved",
			obj:   &resourcev1.ResourceClaim{ObjectMeta: objMeta("gpu", day), Status: resourcev1.ResourceClaimStatus{Allocation: &resourcev1.AllocationResult{}, ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p"}}}},
			cells: []any{"gpu", "allocated,reserved", "24h"},
		},
		{name: "deleted", obj: &resourcev1.ResourceClaim{ObjectMeta: deleting}, cells: []any{"gone", "deleted", "24h"}},
	})
	testRows(t, schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceslices"}, []rowCase{
		{
			name:  "node slice",
			obj:   &resourcev1.ResourceSlice{ObjectMeta: objMeta("n1-gpu", day), Spec: resourcev1.ResourceSliceSpec{NodeName: ptr.To("n1"), Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: "n1"}}},
			cells: []any{"n1-gpu", "n1", "gpu.example.com", "n1", "24h"},
		},
	})
	testRows(t, schema.GroupResource{Group: "resource.k8s.io", Resource: "deviceclasses"}, []rowCase{
		{name: "class", obj: &resourcev1.DeviceClass{ObjectMeta: objMeta("gpu", day)}, cells: []any{"gpu", "24h"}},
	})
	added := ago(3 * time.Hour)
	testRows(t, schema.GroupResource{Group: "resource.k8s.io", Resource: "devicetaintrules"}, []rowCase{
		{
			name: "taint with time",
			obj: &resourcev1.DeviceTaintRule{ObjectMeta: objMeta("maint", day), Spec: resourcev1.DeviceTaintRuleSpec{
				Taint: resourcev1.DeviceTaint{Key: "example.com/maint", Value: "planned", Effect: resourcev1.DeviceTaintEffectNoExecute, TimeAdded: &added}}},
			cells: []any{"maint", "example.com/maint", "planned", "NoExecute", "3h", "24h"},
		},
		{
			name: "no time",
			obj: &resourcev1.DeviceTaintRule{ObjectMeta: objMeta("info", day), Spec: resourcev1.DeviceTaintRuleSpec{
				Taint: resourcev1.DeviceTaint{Key: "example.com/info", Effect: resourcev1.DeviceTaintEffectNone}}},
			cells: []any{"info", "example.com/info", "", "None", "", "24h"},
		},
	})
	testRows(t, schema.GroupResource{Group: "storagemigration.k8s.io", Resource: "storageversionmigrations"}, []rowCase{
		{
			name: "running",
			obj: &storagemigrationv1.StorageVersionMigration{ObjectMeta: objMeta("m", day),
				Spec:   storagemigrationv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Group: "apps", Resource: "deployments"}},
				Status: storagemigrationv1.StorageVersionMigrationStatus{Conditions: []metav1.Condition{{Type: "Running", Status: metav1.ConditionTrue}}}},
			cells: []any{"m", "deployments.apps", "Running"},
		},
	})
}
