package printers

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var leases = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
	ageColumn,
}, rowsOf(func(l *coordinationv1.Lease, now time.Time) (metav1.TableRow, error) {
	return cells(l.Name, ptr.Deref(l.Spec.HolderIdentity, ""), since(l.CreationTimestamp, now))
}))
