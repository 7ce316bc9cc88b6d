package printers

import (
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var flowSchemas = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "PriorityLevel", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"]},
	{Name: "MatchingPrecedence", Type: "string", Description: flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()["matchingPrecedence"]},
	{Name: "DistinguisherMethod", Type: "string", Description: flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()["distinguisherMethod"]},
	ageColumn,
	{Name: "MissingPL", Type: "string", Description: "references a broken or non-existent PriorityLevelConfiguration"},
}, rowsOf(func(fs *flowcontrolv1.FlowSchema, now time.Time) (metav1.TableRow, error) {
	distinguisher := none
	if fs.Spec.DistinguisherMethod != nil {
		distinguisher = string(fs.Spec.DistinguisherMethod.Type)
	}
	// MISSINGPL is the status of the Dangling condition, "?" without one.
	missing := "?"
	for _, c := range fs.Status.Conditions {
		if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
			missing = string(c.Status)
			break
		}
	}
	return cells(fs.Name, fs.Spec.PriorityLevelConfiguration.Name, int64(fs.Spec.MatchingPrecedence), distinguisher,
		since(fs.CreationTimestamp, now), missing)
}))

var queuingDoc = flowcontrolv1.QueuingConfiguration{}.SwaggerDoc()

var priorityLevelConfigurations = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Type", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"]},
	{Name: "NominalConcurrencyShares", Type: "string", Description: flowcontrolv1.LimitedPriorityLevelConfiguration{}.SwaggerDoc()["nominalConcurrencyShares"]},
	{Name: "Queues", Type: "string", Description: queuingDoc["queues"]},
	{Name: "HandSize", Type: "string", Description: queuingDoc["handSize"]},
	{Name: "QueueLengthLimit", Type: "string", Description: queuingDoc["queueLengthLimit"]},
	ageColumn,
}, rowsOf(func(pl *flowcontrolv1.PriorityLevelConfiguration, now time.Time) (metav1.TableRow, error) {
	// Numbers for limited levels (the queuing ones only if they queue),
	// "<none>" otherwise.
	var shares, queues, handSize, queueLength any = none, none, none, none
	if l := pl.Spec.Limited; l != nil {
		shares = ptr.Deref(l.NominalConcurrencyShares, 0)
		if q := l.LimitResponse.Queuing; q != nil {
			queues, handSize, queueLength = q.Queues, q.HandSize, q.QueueLengthLimit
		}
	}
	return cells(pl.Name, string(pl.Spec.Type), shares, queues, handSize, queueLength, since(pl.CreationTimestamp, now))
}))
