package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestEventRows(t *testing.T) {
	pod := corev1.ObjectReference{Kind: "Pod", Name: "web-1", FieldPath: "spec.containers{app}"}
	testRows(t, schema.GroupResource{Resource: "events"}, []rowCase{
		{
			name: "legacy event",
			obj: &corev1.Event{
				ObjectMeta: objMeta("web-1.abc", time.Hour), InvolvedObject: pod,
				Type: "Warning", Reason: "BackOff", Message: "  Back-off restarting failed container\n",
				Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
				FirstTimestamp: ago(time.Hour), LastTimestamp: ago(5 * time.Minute), Count: 12,
			},
			cells: []any{"5m", "Warning", "BackOff", "pod/web-1", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container", "60m", int64(12), "web-1.abc"},
		},
		{
			name: "new-style single event",
			obj: &corev1.Event{
				ObjectMeta: objMeta("e", time.Minute), InvolvedObject: corev1.ObjectReference{Kind: "Node"},
				Type: "Normal", Reason: "Starting", EventTime: microAgo(3 * time.Minute),
				ReportingController: "kube-proxy", ReportingInstance: "kube-proxy-node-1",
			},
			cells: []any{"3m", "Normal", "Starting", "node", "", "kube-proxy, kube-proxy-node-1", "", "3m", int64(1), "e"},
		},
		{
			name: "series",
			obj: &corev1.Event{
				ObjectMeta: objMeta("e", time.Minute), InvolvedObject: pod, EventTime: microAgo(2 * time.Hour),
				Series: &corev1.EventSeries{Count: 4, LastObservedTime: microAgo(10 * time.Second)},
				Source: corev1.EventSource{Component: "kubelet"},
			},
			cells: []any{"10s", "", "", "pod/web-1", "spec.containers{app}", "kubelet", "", "120m", int64(4), "e"},
		},
		{
			name:  "no times",
			obj:   &corev1.Event{ObjectMeta: objMeta("e", time.Minute)},
			cells: []any{"<unknown>", "", "", "", "", "", "", "<unknown>", int64(1), "e"},
		},
	})
	testRows(t, schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, []rowCase{
		{
			name: "events.k8s.io event",
			obj: &eventsv1.Event{
				ObjectMeta: objMeta("e", time.Minute), Regarding: pod, Type: "Normal", Reason: "Pulled", Note: "pulled image",
				EventTime: microAgo(8 * time.Minute), ReportingController: "kubelet", ReportingInstance: "node-2",
				DeprecatedCount: 3, DeprecatedFirstTimestamp: ago(20 * time.Minute),
			},
			cells: []any{"20m", "Normal", "Pulled", "pod/web-1", "spec.containers{app}", "kubelet, node-2", "pulled image", "20m", int64(3), "e"},
		},
		{
			name: "events.k8s.io series",
			obj: &eventsv1.Event{
				ObjectMeta: objMeta("e", time.Minute), Regarding: pod, EventTime: microAgo(8 * time.Minute),
				Series:           &eventsv1.EventSeries{Count: 9, LastObservedTime: microAgo(time.Minute)},
				DeprecatedSource: corev1.EventSource{Component: "scheduler"},
			},
			cells: []any{"60s", "", "", "pod/web-1", "spec.containers{app}", "scheduler", "", "8m", int64(9), "e"},
		},
	})
}
