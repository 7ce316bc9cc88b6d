package core

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// The rules are tested in package events; these tests check that core/v1
// gets them with its own field names and without the events.k8s.io/v1
// rules.
func TestValidateEvent(t *testing.T) {
	newStyle := func() *corev1.Event {
		return &corev1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: "web.17a", Namespace: "default"},
			InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			EventTime:           metav1.NewMicroTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)),
			Reason:              "Scheduled",
			Action:              "Binding",
			ReportingController: "example.com/scheduler",
			ReportingInstance:   "scheduler-1",
		}
	}
	tests := []struct {
		name string
		ev   *corev1.Event
		want []vt.Want
	}{
		{
			name: "old style with deprecated fields, an odd type and a bad name",
			ev: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "Web_17a", Namespace: "default"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
				Count:          3,
				Type:           "Error",
			},
		},
		{name: "new style", ev: newStyle()},
		{
			name: "reporting controller is reportingComponent",
			ev:   func() *corev1.Event { ev := newStyle(); ev.ReportingController = "a b"; return ev }(),
			want: []vt.Want{vt.Invalid("reportingComponent", "name part must consist of")},
		},
		{
			name: "namespace mismatch",
			ev:   &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"}, InvolvedObject: corev1.ObjectReference{Namespace: "apps"}},
			want: []vt.Want{vt.Invalid("involvedObject.namespace", "does not match event.namespace")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateEvent(tt.ev), tt.want...)
		})
	}
}

func TestValidateEventUpdate(t *testing.T) {
	old := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.17a", Namespace: "default", ResourceVersion: "1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:         "Started",
		Count:          1,
	}
	tests := []struct {
		name string
		ev   *corev1.Event
		want []vt.Want
	}{
		{
			name: "anything may change, even without a resource version",
			ev: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "web.17a", Namespace: "default"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "db"},
				Reason:         "Killing",
				Count:          2,
			},
		},
		{
			name: "the new event meets the create rules",
			ev: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "web.17a", Namespace: "default", ResourceVersion: "1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "apps", Name: "web"},
			},
			want: []vt.Want{vt.Invalid("involvedObject.namespace", "does not match event.namespace")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateEventUpdate(tt.ev, old), tt.want...)
		})
	}
}
