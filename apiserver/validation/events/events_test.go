package events

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

var eventTime = metav1.NewMicroTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))

// coreEvent is an old-style core/v1 Event (no eventTime) about a pod.
func coreEvent(namespace, objectNamespace string) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.17a", Namespace: namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: objectNamespace, Name: "web"},
		Reason:         "Started",
		Source:         corev1.EventSource{Component: "kubelet"},
		Count:          1,
		Type:           corev1.EventTypeNormal,
	}
}

// newStyleCoreEvent is a core/v1 Event with eventTime, as client-go's new
// recorder writes it.
func newStyleCoreEvent() *corev1.Event {
	ev := coreEvent("default", "default")
	ev.EventTime = eventTime
	ev.Action = "Binding"
	ev.ReportingController = "example.com/scheduler"
	ev.ReportingInstance = "scheduler-1"
	return ev
}

func TestValidateCoreV1Event(t *testing.T) {
	tests := []struct {
		name string
		ev   *corev1.Event
		want []vt.Want
	}{
		{name: "old style, same namespace", ev: coreEvent("default", "default")},
		{name: "old style, cluster-scoped object in default", ev: coreEvent("default", "")},
		{
			name: "old style, no namespace passes the namespace match but not the DNS rule",
			ev:   coreEvent("", ""),
			want: []vt.Want{vt.Invalid("namespace", "a lowercase RFC 1123 subdomain")},
		},
		{
			name: "old style, namespace mismatch",
			ev:   coreEvent("default", "other"),
			want: []vt.Want{vt.Invalid("involvedObject.namespace", "does not match event.namespace")},
		},
		{
			name: "old style, cluster-scoped object in another namespace",
			ev:   coreEvent("kube-system", ""),
			want: []vt.Want{vt.Invalid("involvedObject.namespace", "does not match event.namespace")},
		},
		{
			name: "old style has no length limits",
			ev: func() *corev1.Event {
				ev := coreEvent("default", "default")
				ev.Message = strings.Repeat("x", 2000)
				return ev
			}(),
		},
		{name: "new style", ev: newStyleCoreEvent()},
		{
			name: "new style, cluster-scoped object in kube-system",
			ev: func() *corev1.Event {
				ev := newStyleCoreEvent()
				ev.Namespace, ev.InvolvedObject.Namespace = "kube-system", ""
				return ev
			}(),
		},
		{
			name: "new style, cluster-scoped object in another namespace",
			ev: func() *corev1.Event {
				ev := newStyleCoreEvent()
				ev.Namespace, ev.InvolvedObject.Namespace = "apps", ""
				return ev
			}(),
			want: []vt.Want{vt.Invalid("involvedObject.namespace", "does not match event.namespace")},
		},
		{
			name: "new style, required fields, with core/v1's name for the reporting controller",
			ev: func() *corev1.Event {
				ev := newStyleCoreEvent()
				ev.ReportingController, ev.ReportingInstance, ev.Action, ev.Reason = "", "", "", ""
				return ev
			}(),
			want: []vt.Want{
				vt.Required("reportingComponent", ""),
				vt.Invalid("reportingComponent", "name part must be non-empty"),
				vt.Invalid("reportingComponent", "name part must consist of"),
				vt.Required("reportingInstance", ""),
				vt.Required("action", ""),
				vt.Required("reason", ""),
			},
		},
		{
			name: "new style, reporting controller not a qualified name",
			ev:   func() *corev1.Event { ev := newStyleCoreEvent(); ev.ReportingController = "my scheduler"; return ev }(),
			want: []vt.Want{vt.Invalid("reportingComponent", "name part must consist of alphanumeric characters")},
		},
		{
			name: "new style, length limits",
			ev: func() *corev1.Event {
				ev := newStyleCoreEvent()
				ev.ReportingInstance = strings.Repeat("i", 129)
				ev.Action = strings.Repeat("a", 129)
				ev.Reason = strings.Repeat("r", 129)
				ev.Message = strings.Repeat("m", 1025)
				return ev
			}(),
			want: []vt.Want{
				vt.Invalid("reportingInstance", "can have at most 128 characters"),
				vt.Invalid("action", "can have at most 128 characters"),
				vt.Invalid("reason", "can have at most 128 characters"),
				vt.Invalid("message", "can have at most 1024 characters"),
			},
		},
		{
			name: "new style, at the length limits",
			ev: func() *corev1.Event {
				ev := newStyleCoreEvent()
				ev.ReportingInstance = strings.Repeat("i", 128)
				ev.Message = strings.Repeat("m", 1024)
				return ev
			}(),
		},
		{
			name: "namespace must be a DNS subdomain",
			ev:   coreEvent("Default", "Default"),
			want: []vt.Want{vt.Invalid("namespace", "a lowercase RFC 1123 subdomain")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateCoreV1Event(tt.ev), tt.want...)
		})
	}
}

// event is a valid events.k8s.io/v1 Event.
func event() *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.17a", Namespace: "default", ResourceVersion: "1"},
		EventTime:           eventTime,
		ReportingController: "example.com/scheduler",
		ReportingInstance:   "scheduler-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Note:                "assigned default/web to node-1",
		Type:                corev1.EventTypeNormal,
	}
}

func TestValidateEvent(t *testing.T) {
	with := func(change func(*eventsv1.Event)) *eventsv1.Event {
		ev := event()
		change(ev)
		return ev
	}
	tests := []struct {
		name string
		ev   *eventsv1.Event
		want []vt.Want
	}{
		{name: "valid", ev: event()},
		{name: "warning with a series", ev: with(func(ev *eventsv1.Event) {
			ev.Type = corev1.EventTypeWarning
			ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: eventTime}
		})},
		{
			name: "common rules, at upstream's core field names; the regarded object may be in another namespace",
			ev: with(func(ev *eventsv1.Event) {
				ev.ReportingController = ""
				ev.Note = strings.Repeat("n", 1025)
				ev.Regarding.Namespace = "other"
			}),
			want: []vt.Want{
				vt.Required("reportingController", ""),
				vt.Invalid("reportingController", "name part must be non-empty"),
				vt.Invalid("reportingController", "name part must consist of"),
				vt.Invalid("message", "can have at most 1024 characters"),
			},
		},
		{
			name: "eventTime required; the old-style namespace rule then applies",
			ev:   with(func(ev *eventsv1.Event) { ev.EventTime = metav1.MicroTime{}; ev.Regarding.Namespace = "other" }),
			want: []vt.Want{
				vt.Required("eventTime", ""),
				vt.Invalid("involvedObject.namespace", "does not match event.namespace"),
			},
		},
		{
			name: "type must be Normal or Warning",
			ev:   with(func(ev *eventsv1.Event) { ev.Type = "Error" }),
			want: []vt.Want{vt.Invalid("type", "has invalid value: Error")},
		},
		{
			name: "deprecated fields must be unset",
			ev: with(func(ev *eventsv1.Event) {
				ev.DeprecatedFirstTimestamp = metav1.NewTime(eventTime.Time)
				ev.DeprecatedLastTimestamp = metav1.NewTime(eventTime.Time)
				ev.DeprecatedCount = 3
				ev.DeprecatedSource = corev1.EventSource{Host: "node-1"}
			}),
			want: []vt.Want{
				vt.Invalid("firstTimestamp", "needs to be unset"),
				vt.Invalid("lastTimestamp", "needs to be unset"),
				vt.Invalid("count", "needs to be unset"),
				vt.Invalid("source", "needs to be unset"),
			},
		},
		{
			name: "series",
			ev:   with(func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 1} }),
			want: []vt.Want{
				vt.Invalid("series.count", "should be at least 2"),
				vt.Required("series.lastObservedTime", ""),
			},
		},
		{
			name: "object metadata",
			ev:   with(func(ev *eventsv1.Event) { ev.Name = "Web" }),
			want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateEvent(tt.ev), tt.want...)
		})
	}
}

func TestValidateEventUpdate(t *testing.T) {
	with := func(change func(*eventsv1.Event)) *eventsv1.Event {
		ev := event()
		change(ev)
		return ev
	}
	tests := []struct {
		name string
		ev   *eventsv1.Event
		old  *eventsv1.Event
		want []vt.Want
	}{
		{name: "unchanged", ev: event(), old: event()},
		{
			name: "series grows",
			ev:   with(func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: eventTime} }),
			old:  with(func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: eventTime} }),
		},
		{
			name: "an unchanged bad series is not reported",
			ev:   with(func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 1, LastObservedTime: eventTime} }),
			old:  with(func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 1, LastObservedTime: eventTime} }),
		},
		{
			name: "a changed bad series is",
			ev:   with(func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 1, LastObservedTime: eventTime} }),
			old:  event(),
			want: []vt.Want{vt.Invalid("series.count", "should be at least 2")},
		},
		{
			name: "eventTime changes below a microsecond",
			ev:   with(func(ev *eventsv1.Event) { ev.EventTime = metav1.NewMicroTime(eventTime.Add(999 * time.Nanosecond)) }),
			old:  event(),
		},
		{
			name: "eventTime changes",
			ev:   with(func(ev *eventsv1.Event) { ev.EventTime = metav1.NewMicroTime(eventTime.Add(time.Millisecond)) }),
			old:  event(),
			want: []vt.Want{vt.Invalid("eventTime", "field is immutable")},
		},
		{
			name: "reason changes, reported twice as upstream does",
			ev:   with(func(ev *eventsv1.Event) { ev.Reason = "Preempted" }),
			old:  event(),
			want: []vt.Want{vt.Invalid("reason", "field is immutable"), vt.Invalid("reason", "field is immutable")},
		},
		{
			name: "fields are immutable, at upstream's core field names",
			ev: with(func(ev *eventsv1.Event) {
				ev.Regarding.Name = "db"
				ev.Note = "other"
				ev.Type = corev1.EventTypeWarning
				ev.Action = "Preempting"
				ev.Related = &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
				ev.ReportingController = "example.com/other"
				ev.ReportingInstance = "scheduler-2"
			}),
			old: event(),
			want: []vt.Want{
				vt.Invalid("involvedObject", "field is immutable"),
				vt.Invalid("message", "field is immutable"),
				vt.Invalid("type", "field is immutable"),
				vt.Invalid("action", "field is immutable"),
				vt.Invalid("related", "field is immutable"),
				vt.Invalid("reportingController", "field is immutable"),
				vt.Invalid("reportingInstance", "field is immutable"),
			},
		},
		{
			name: "metadata update rules",
			ev:   with(func(ev *eventsv1.Event) { ev.ResourceVersion = "" }),
			old:  event(),
			want: []vt.Want{vt.Invalid("metadata.resourceVersion", "must be specified for an update")},
		},
		{
			name: "common rules apply to the new event",
			ev:   with(func(ev *eventsv1.Event) { ev.ReportingInstance = "" }),
			old:  with(func(ev *eventsv1.Event) { ev.ReportingInstance = "" }),
			want: []vt.Want{vt.Required("reportingInstance", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateEventUpdate(tt.ev, tt.old), tt.want...)
		})
	}
}
