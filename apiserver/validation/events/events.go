package events

import (
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/conversion"
	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// Length limits of an Event's fields, in characters.
const (
	reportingInstanceMaxLength = 128
	actionMaxLength            = 128
	reasonMaxLength            = 128
	noteMaxLength              = 1024
)

// The JSON name of ReportingController in each API version.
const (
	coreV1ReportingController   = "reportingComponent"
	eventsV1ReportingController = "reportingController"
)

// ValidateCoreV1Event validates an Event written through core/v1. For
// compatibility with old clients, core/v1 applies only the rules every
// Event passes, on create and on update alike, and leaves object metadata
// to the generic registry.
func ValidateCoreV1Event(ev *corev1.Event) field.ErrorList {
	return validateCommon(ev, coreV1ReportingController)
}

// ValidateEvent validates a new events.k8s.io/v1 Event: the rules every
// Event passes, plus a DNS-subdomain name, an eventTime, a type of Normal or
// Warning, a well-formed series and none of the deprecated fields.
func ValidateEvent(ev *eventsv1.Event) field.ErrorList {
	c := toCoreV1(ev)
	errs := validateCommon(c, eventsV1ReportingController)
	errs = append(errs, metavalidation.ValidateObjectMeta(&ev.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)...)
	errs = append(errs, validateSeries(c.Series)...)
	if c.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if c.Type != corev1.EventTypeNormal && c.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", c.Type)))
	}
	if !c.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !c.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if c.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if c.Source.Component != "" || c.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

// ValidateEventUpdate validates an update of an events.k8s.io/v1 Event:
// the rules every Event passes, a well-formed series if it changed, and
// every other field unchanged. eventTime may change below a microsecond, as
// clients that serialize it at microsecond precision do.
func ValidateEventUpdate(ev, old *eventsv1.Event) field.ErrorList {
	c, o := toCoreV1(ev), toCoreV1(old)
	errs := validateCommon(c, eventsV1ReportingController)
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta)...)
	if !reflect.DeepEqual(c.Series, o.Series) {
		errs = append(errs, validateSeries(c.Series)...)
	}
	immutable := func(path string, value, oldValue any) {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(value, oldValue, field.NewPath(path))...)
	}
	immutable("involvedObject", c.InvolvedObject, o.InvolvedObject)
	immutable("reason", c.Reason, o.Reason)
	immutable("message", c.Message, o.Message)
	immutable("source", c.Source, o.Source)
	immutable("firstTimestamp", c.FirstTimestamp, o.FirstTimestamp)
	immutable("lastTimestamp", c.LastTimestamp, o.LastTimestamp)
	immutable("count", c.Count, o.Count)
	// Upstream checks reason twice, so a changed reason is reported twice.
	immutable("reason", c.Reason, o.Reason)
	immutable("type", c.Type, o.Type)
	if !c.EventTime.Truncate(time.Microsecond).Equal(o.EventTime.Truncate(time.Microsecond)) {
		immutable("eventTime", c.EventTime, o.EventTime)
	}
	immutable("action", c.Action, o.Action)
	immutable("related", c.Related, o.Related)
	immutable("reportingController", c.ReportingController, o.ReportingController)
	immutable("reportingInstance", c.ReportingInstance, o.ReportingInstance)
	return errs
}

// validateCommon holds the rules every Event passes, whichever version it
// is written through (upstream's legacy rules). reportingController is the
// JSON name of ReportingController in that version.
func validateCommon(ev *corev1.Event, reportingController string) field.ErrorList {
	var errs field.ErrorList
	involvedNamespace := field.NewPath("involvedObject", "namespace")
	if ev.EventTime.IsZero() {
		// An old-style Event: its namespace must be its object's, or empty
		// or "default" (old clients) when the object is cluster-scoped.
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(involvedNamespace, ev.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if ev.Namespace != ev.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(involvedNamespace, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(involvedNamespace, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		reportingPath := field.NewPath(reportingController)
		if ev.ReportingController == "" {
			errs = append(errs, field.Required(reportingPath, ""))
		}
		for _, msg := range validation.IsQualifiedName(ev.ReportingController) {
			errs = append(errs, field.Invalid(reportingPath, ev.ReportingController, msg).WithOrigin("format=qualified-name"))
		}
		errs = append(errs, requiredWithMax(ev.ReportingInstance, "reportingInstance", reportingInstanceMaxLength)...)
		errs = append(errs, requiredWithMax(ev.Action, "action", actionMaxLength)...)
		errs = append(errs, requiredWithMax(ev.Reason, "reason", reasonMaxLength)...)
		if len(ev.Message) > noteMaxLength {
			errs = append(errs, tooManyCharacters(field.NewPath("message"), noteMaxLength))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(ev.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ev.Namespace, msg))
	}
	return errs
}

// requiredWithMax checks that value, at the top-level field name, is set
// and at most maxLength characters long.
func requiredWithMax(value, name string, maxLength int) field.ErrorList {
	var errs field.ErrorList
	if value == "" {
		errs = append(errs, field.Required(field.NewPath(name), ""))
	}
	if len(value) > maxLength {
		errs = append(errs, tooManyCharacters(field.NewPath(name), maxLength))
	}
	return errs
}

// tooManyCharacters is upstream's error for an Event field over its limit:
// Invalid, with an empty value.
func tooManyCharacters(fldPath *field.Path, maxLength int) *field.Error {
	return field.Invalid(fldPath, "", fmt.Sprintf("can have at most %v characters", maxLength))
}

// validateSeries checks a series' count and last observation, when set.
func validateSeries(series *corev1.EventSeries) field.ErrorList {
	if series == nil {
		return nil
	}
	var errs field.ErrorList
	if series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series", "count"), "", "should be at least 2"))
	}
	if series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
	}
	return errs
}

// toCoreV1 maps an events.k8s.io/v1 Event onto the core/v1 struct, as
// upstream converts both to its internal Event.
func toCoreV1(ev *eventsv1.Event) *corev1.Event {
	c := &corev1.Event{}
	conversion.EventToCore(ev, c)
	return c
}
