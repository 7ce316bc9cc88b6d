package endpointslice

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name, zone, cpu string, ready bool, labels ...string) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	l := map[string]string{}
	if zone != "" {
		l[corev1.LabelTopologyZone] = zone
	}
	for _, k := range labels {
		l[k] = ""
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}
	if cpu != "" {
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return n
}

func TestZoneRatios(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []*corev1.Node
		want       string
		wantReason string
	}{
		{name: "two zones", nodes: []*corev1.Node{node("a", "z1", "3", true), node("b", "z2", "1", true)}, want: "map[z1:0.75 z2:0.25]"},
		{name: "not-ready and control-plane nodes ignored", nodes: []*corev1.Node{
			node("a", "z1", "1", true), node("b", "z2", "1", true), node("c", "z1", "8", false), node("d", "z2", "8", true, "node-role.kubernetes.io/control-plane"),
		}, want: "map[z1:0.5 z2:0.5]"},
		{name: "one zone", nodes: []*corev1.Node{node("a", "z1", "1", true), node("b", "z1", "1", true)}, want: "map[]", wantReason: msgNodesInOneZoneOnly},
		{name: "node without zone", nodes: []*corev1.Node{node("a", "z1", "1", true), node("b", "", "1", true)}, want: "map[]", wantReason: msgInsufficientNodeInfo},
		{name: "node without cpu", nodes: []*corev1.Node{node("a", "z1", "1", true), node("b", "z2", "", true)}, want: "map[]", wantReason: msgInsufficientNodeInfo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := ZoneRatios(tc.nodes)
			if fmt.Sprint(got) != tc.want || reason != tc.wantReason {
				t.Errorf("ZoneRatios = %v, %q; want %s, %q", got, reason, tc.want, tc.wantReason)
			}
		})
	}
}

func TestTopologyAwareHints(t *testing.T) {
	// zoneOf places pod i in z1 for i < inZ1, else z2.
	podsIn := func(n, inZ1 int) ([]*corev1.Pod, func(string) string) {
		ps := pods(n, 80)
		for i, p := range ps {
			p.Spec.NodeName = "n-z2"
			if i < inZ1 {
				p.Spec.NodeName = "n-z1"
			}
		}
		return ps, func(node string) string { return strings.TrimPrefix(node, "n-") }
	}
	tests := []struct {
		name         string
		n, inZ1      int
		ratios       map[string]float64
		reason       string
		wantHinted   map[string]int // zone -> endpoints hinted to it
		wantOff      string
		annotationOn bool
	}{
		{name: "balanced", n: 4, inZ1: 2, ratios: map[string]float64{"z1": 0.5, "z2": 0.5}, annotationOn: true, wantHinted: map[string]int{"z1": 2, "z2": 2}},
		{name: "imbalanced endpoints are redistributed", n: 10, inZ1: 8, ratios: map[string]float64{"z1": 0.5, "z2": 0.5}, annotationOn: true, wantHinted: map[string]int{"z1": 5, "z2": 5}},
		{name: "follows CPU shares", n: 10, inZ1: 5, ratios: map[string]float64{"z1": 0.8, "z2": 0.2}, annotationOn: true, wantHinted: map[string]int{"z1": 8, "z2": 2}},
		{name: "fewer endpoints than zones", n: 1, inZ1: 1, ratios: map[string]float64{"z1": 0.5, "z2": 0.5}, annotationOn: true, wantOff: msgInsufficientEndpoints},
		{name: "no node info", n: 4, inZ1: 2, reason: msgNodesInOneZoneOnly, annotationOn: true, wantOff: msgNodesInOneZoneOnly},
		{name: "not asked for", n: 4, inZ1: 2, ratios: map[string]float64{"z1": 0.5, "z2": 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := testService()
			if tc.annotationOn {
				svc.Annotations = map[string]string{corev1.AnnotationTopologyMode: "Auto"}
			}
			ps, zone := podsIn(tc.n, tc.inZ1)
			r := Plan(Input{Service: svc, Pods: ps, Zone: zone, ZoneRatios: tc.ratios, ZoneRatiosReason: tc.reason})
			if tc.wantOff != "" && !strings.HasPrefix(r.TopologyHintsOff, tc.wantOff) {
				t.Errorf("hints off because %q, want %q", r.TopologyHintsOff, tc.wantOff)
			}
			if r.TopologyHints != (tc.wantHinted != nil) {
				t.Errorf("TopologyHints = %v", r.TopologyHints)
			}
			got := map[string]int{}
			for _, s := range r.Create {
				for _, e := range s.Endpoints {
					if e.Hints != nil {
						got[e.Hints.ForZones[0].Name]++
					}
				}
			}
			want := tc.wantHinted
			if want == nil {
				want = map[string]int{}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("hinted %v, want %v", got, want)
			}
			// Stable: planning again over the result writes nothing.
			again := Plan(Input{Service: svc, Pods: ps, Zone: zone, ZoneRatios: tc.ratios, ZoneRatiosReason: tc.reason, Existing: apply(nil, r)})
			if n := len(again.Create) + len(again.Update) + len(again.Delete); n != 0 {
				t.Errorf("not stable: %d writes", n)
			}
		})
	}
}
