package printers

import (
	"time"

	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var priorityClassDoc = schedulingv1.PriorityClass{}.SwaggerDoc()

var priorityClasses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Value", Type: "integer", Description: priorityClassDoc["value"]},
	{Name: "Global-Default", Type: "boolean", Description: priorityClassDoc["globalDefault"]},
	ageColumn,
	{Name: "PreemptionPolicy", Type: "string", Description: priorityClassDoc["preemptionPolicy"]},
}, rowsOf(func(pc *schedulingv1.PriorityClass, now time.Time) (metav1.TableRow, error) {
	var preemption string
	if pc.PreemptionPolicy != nil {
		preemption = string(*pc.PreemptionPolicy)
	}
	return cells(pc.Name, int64(pc.Value), pc.GlobalDefault, since(pc.CreationTimestamp, now), preemption)
}))

var runtimeClasses = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	// kube-apiserver looks the description up in ObjectMeta's, which has
	// no "handler": it is empty.
	{Name: "Handler", Type: "string", Description: objectMetaDoc["handler"]},
	ageColumn,
}, rowsOf(func(rc *nodev1.RuntimeClass, now time.Time) (metav1.TableRow, error) {
	return cells(rc.Name, rc.Handler, since(rc.CreationTimestamp, now))
}))
