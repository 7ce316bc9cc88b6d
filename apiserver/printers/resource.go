package printers

import (
	"strings"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var deviceClasses = newPrinter([]metav1.TableColumnDefinition{nameColumn, ageColumn},
	rowsOf(func(c *resourcev1.DeviceClass, now time.Time) (metav1.TableRow, error) {
		return cells(c.Name, since(c.CreationTimestamp, now))
	}))

var resourceClaimTemplates = newPrinter([]metav1.TableColumnDefinition{nameColumn, ageColumn},
	rowsOf(func(t *resourcev1.ResourceClaimTemplate, now time.Time) (metav1.TableRow, error) {
		return cells(t.Name, since(t.CreationTimestamp, now))
	}))

var resourceClaims = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "State", Type: "string", Description: "A summary of the current state (allocated, pending, reserved, etc.)."},
	ageColumn,
}, rowsOf(func(c *resourcev1.ResourceClaim, now time.Time) (metav1.TableRow, error) {
	return cells(c.Name, claimState(c), since(c.CreationTimestamp, now))
}))

// claimState summarises a claim as kubectl shows it: deleted, pending or
// allocated, and reserved when a pod holds it.
func claimState(c *resourcev1.ResourceClaim) string {
	var states []string
	if c.DeletionTimestamp != nil {
		states = append(states, "deleted")
	}
	switch {
	case c.Status.Allocation != nil:
		states = append(states, "allocated")
		if len(c.Status.ReservedFor) > 0 {
			states = append(states, "reserved")
		}
	case c.DeletionTimestamp == nil:
		states = append(states, "pending")
	}
	return strings.Join(states, ",")
}

var resourceSliceSpecDoc = resourcev1.ResourceSliceSpec{}.SwaggerDoc()

var resourceSlices = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Node", Type: "string", Description: resourceSliceSpecDoc["nodeName"]},
	{Name: "Driver", Type: "string", Description: resourceSliceSpecDoc["driver"]},
	{Name: "Pool", Type: "string", Description: resourcev1.ResourcePool{}.SwaggerDoc()["name"]},
	ageColumn,
}, rowsOf(func(s *resourcev1.ResourceSlice, now time.Time) (metav1.TableRow, error) {
	node := ""
	if s.Spec.NodeName != nil {
		node = *s.Spec.NodeName
	}
	return cells(s.Name, node, s.Spec.Driver, s.Spec.Pool.Name, since(s.CreationTimestamp, now))
}))

var deviceTaintDoc = resourcev1.DeviceTaint{}.SwaggerDoc()

// deviceTaintRules, as upstream: the taint, not the selector (it may be
// long and is often empty), and both when the effect was set and the age.
var deviceTaintRules = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Key", Type: "string", Description: deviceTaintDoc["key"]},
	{Name: "Value", Type: "string", Description: deviceTaintDoc["value"]},
	{Name: "Effect", Type: "string", Description: deviceTaintDoc["effect"]},
	{Name: "TimeAdded", Type: "string", Description: deviceTaintDoc["timeAdded"]},
	ageColumn,
}, rowsOf(func(r *resourcev1.DeviceTaintRule, now time.Time) (metav1.TableRow, error) {
	added := ""
	if t := r.Spec.Taint.TimeAdded; t != nil {
		added = since(*t, now)
	}
	taint := r.Spec.Taint
	return cells(r.Name, taint.Key, taint.Value, string(taint.Effect), added, since(r.CreationTimestamp, now))
}))

// storageVersionMigrations, as kube-apiserver's: NAME without the name
// format, and no AGE.
var storageVersionMigrations = newPrinter([]metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Description: objectMetaDoc["name"]},
	{Name: "Resource", Type: "string", Description: "GroupResource to migrate"},
	{Name: "Status", Type: "string", Description: "Status of the migration"},
}, rowsOf(func(m *storagemigrationv1.StorageVersionMigration, now time.Time) (metav1.TableRow, error) {
	status := "Unknown"
	for _, c := range m.Status.Conditions {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		switch storagemigrationv1.MigrationConditionType(c.Type) {
		case storagemigrationv1.MigrationRunning, storagemigrationv1.MigrationFailed, storagemigrationv1.MigrationSucceeded:
			status = c.Type
		}
	}
	gr := schema.GroupResource{Group: m.Spec.Resource.Group, Resource: m.Spec.Resource.Resource}
	return cells(m.Name, gr.String(), status)
}))
