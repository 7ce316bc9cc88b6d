package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/events"
)

// ValidateEvent validates a core/v1 Event written through the core API.
// The rules, shared with events.k8s.io/v1, live in package events.
func ValidateEvent(ev *corev1.Event) field.ErrorList {
	return events.ValidateCoreV1Event(ev)
}

// ValidateEventUpdate validates an update of a core/v1 Event written
// through the core API: for compatibility with old clients, upstream checks
// only the new Event, with the create rules, and old is not consulted.
func ValidateEventUpdate(ev, _ *corev1.Event) field.ErrorList {
	return events.ValidateCoreV1Event(ev)
}
