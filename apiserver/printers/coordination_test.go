package printers

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestLeaseRows(t *testing.T) {
	testRows(t, schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, []rowCase{
		{name: "held", obj: &coordinationv1.Lease{ObjectMeta: objMeta("node-1", day), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1")}}, cells: []any{"node-1", "node-1", "24h"}},
		{name: "free", obj: &coordinationv1.Lease{ObjectMeta: objMeta("l", day)}, cells: []any{"l", "", "24h"}},
	})
}
