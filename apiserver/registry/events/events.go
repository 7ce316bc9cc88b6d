// Package events declares events.k8s.io/v1 Events. They are core Events
// inside the server and in etcd (the two resources cohabit, as upstream's
// do): a client sees one set of Events through either API, each in its own
// version's shape, validated by that version's rules.
package events

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/conversion"
	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core"
	eventsvalidation "github.com/skiff-dev/skiff/apiserver/validation/events"
)

// Resources returns the events.k8s.io/v1 resources; Events live for ttl.
func Resources(ttl time.Duration, tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*corev1.Event]{
			GroupVersion: eventsv1.SchemeGroupVersion, Resource: "events", Singular: "event", Kind: "Event", Namespaced: true,
			ShortNames: []string{"ev"},
			New:        func() *corev1.Event { return &corev1.Event{} },
			NewList:    func() runtime.Object { return &corev1.EventList{} },
			Validate:   func(ev *corev1.Event) field.ErrorList { return eventsvalidation.ValidateEvent(toEvents(ev)) },
			ValidateUpdate: func(ev, old *corev1.Event) field.ErrorList {
				return eventsvalidation.ValidateEventUpdate(toEvents(ev), toEvents(old))
			},
			AllowCreateOnUpdate: true,
			Fields:              core.EventFields,
			FieldLabels:         []string{"reason", "type"},
			FieldLabelAliases: map[string]string{
				"regarding.kind":            "involvedObject.kind",
				"regarding.namespace":       "involvedObject.namespace",
				"regarding.name":            "involvedObject.name",
				"regarding.uid":             "involvedObject.uid",
				"regarding.apiVersion":      "involvedObject.apiVersion",
				"regarding.resourceVersion": "involvedObject.resourceVersion",
				"regarding.fieldPath":       "involvedObject.fieldPath",
				"reportingController":       "reportingComponent",
			},
			TTL:            func(*corev1.Event, uint64, bool) (uint64, error) { return uint64(ttl.Seconds()), nil },
			TableConvertor: tables(eventsv1.Resource("events")),
		},
	}
}

func toEvents(ev *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{}
	conversion.EventFromCore(ev, out)
	return out
}
