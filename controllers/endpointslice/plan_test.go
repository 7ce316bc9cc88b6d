package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "svc", Namespace: "ns", UID: "svc-uid"},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": "x"},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

func testPod(i int, port int32, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%03d", i), Namespace: "ns", UID: types.UID(fmt.Sprintf("uid-%d", i)), Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIPs:     []corev1.PodIP{{IP: fmt.Sprintf("10.0.%d.%d", i/200, i%200+1)}, {IP: fmt.Sprintf("fd00::%x", i+1)}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
		},
	}
}

func pods(n int, port int32) []*corev1.Pod {
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = testPod(i, port, true)
	}
	return out
}

// apply simulates the API server: created slices get names and UIDs.
func apply(existing []*discovery.EndpointSlice, r Result) []*discovery.EndpointSlice {
	byName := map[string]*discovery.EndpointSlice{}
	var order []string
	for _, s := range existing {
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	for _, s := range r.Update {
		byName[s.Name] = s
	}
	for _, s := range r.Delete {
		delete(byName, s.Name)
	}
	for i, s := range r.Create {
		c := s.DeepCopy()
		c.Name = fmt.Sprintf("%s%d-%d", s.GenerateName, len(order), i)
		c.UID = types.UID(c.Name)
		byName[c.Name] = c
		order = append(order, c.Name)
	}
	var out []*discovery.EndpointSlice
	for _, n := range order {
		if s, ok := byName[n]; ok {
			out = append(out, s)
		}
	}
	return out
}

func sizes(slices []*discovery.EndpointSlice) []int {
	var out []int
	for _, s := range slices {
		out = append(out, len(s.Endpoints))
	}
	return out
}

func TestPlan(t *testing.T) {
	svc := testService()
	dual := testService()
	dual.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}

	tests := []struct {
		name string
		svc  *corev1.Service
		// before is applied first (from no slices), then after.
		before, after                      []*corev1.Pod
		max                                int
		wantCreate, wantUpdate, wantDelete int
		wantSizes                          []int
		// wantTotal and wantSlices replace wantSizes where which endpoints
		// share a slice depends on packing order.
		wantTotal, wantSlices int
	}{
		{name: "no pods: placeholder", svc: svc, after: nil, max: 100, wantCreate: 1, wantSizes: []int{0}},
		{name: "placeholder is kept", svc: svc, before: nil, after: nil, max: 100, wantSizes: []int{0}},
		{name: "placeholder is rewritten when pods come", svc: svc, before: nil, after: pods(3, 80), max: 100, wantUpdate: 1, wantSizes: []int{3}},
		{name: "250 pods split 100/100/50", svc: svc, after: pods(250, 80), max: 100, wantCreate: 3, wantSizes: []int{100, 100, 50}},
		{name: "dual stack: one slice per family", svc: dual, after: pods(3, 80), max: 100, wantCreate: 2, wantSizes: []int{3, 3}},
		{name: "unchanged pods: no writes", svc: svc, before: pods(150, 80), after: pods(150, 80), max: 100, wantSizes: []int{100, 50}},
		{name: "one pod more fills the partial slice", svc: svc, before: pods(150, 80), after: pods(151, 80), max: 100, wantUpdate: 1, wantSizes: []int{100, 51}},
		{name: "pods removed: update in place", svc: svc, before: pods(150, 80), after: pods(140, 80)[5:], max: 100, wantUpdate: 2, wantTotal: 135, wantSlices: 2},
		{name: "all pods gone: slices become the placeholder", svc: svc, before: pods(150, 80), after: nil, max: 100, wantUpdate: 1, wantDelete: 1, wantSizes: []int{0}},
		{name: "port change moves endpoints to a new port mapping", svc: svc, before: pods(3, 80), after: pods(3, 81), max: 100, wantUpdate: 1, wantSizes: []int{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var existing []*discovery.EndpointSlice
			if tc.before != nil || tc.name == "placeholder is kept" || tc.name == "placeholder is rewritten when pods come" {
				existing = apply(nil, Plan(Input{Service: tc.svc, Pods: tc.before, MaxEndpointsPerSlice: tc.max}))
			}
			r := Plan(Input{Service: tc.svc, Pods: tc.after, Existing: existing, MaxEndpointsPerSlice: tc.max})
			if len(r.Create) != tc.wantCreate || len(r.Update) != tc.wantUpdate || len(r.Delete) != tc.wantDelete {
				t.Fatalf("create/update/delete = %d/%d/%d, want %d/%d/%d", len(r.Create), len(r.Update), len(r.Delete), tc.wantCreate, tc.wantUpdate, tc.wantDelete)
			}
			final := apply(existing, r)
			got := sizes(final)
			if tc.wantSizes != nil && fmt.Sprint(got) != fmt.Sprint(tc.wantSizes) {
				t.Fatalf("slice sizes %v, want %v", got, tc.wantSizes)
			}
			if tc.wantSizes == nil {
				total := 0
				for _, n := range got {
					total += n
					if n > tc.max {
						t.Errorf("slice of %d endpoints", n)
					}
				}
				if total != tc.wantTotal || len(got) != tc.wantSlices {
					t.Fatalf("slice sizes %v, want %d endpoints in %d slices", got, tc.wantTotal, tc.wantSlices)
				}
			}
			for _, s := range final {
				if s.Labels[discovery.LabelServiceName] != "svc" || s.Labels[discovery.LabelManagedBy] != ControllerName {
					t.Errorf("slice %s labels %v", s.Name, s.Labels)
				}
				if !ownedBy(s, tc.svc) {
					t.Errorf("slice %s not owned by the service", s.Name)
				}
			}
			// Converged: a second pass writes nothing.
			again := Plan(Input{Service: tc.svc, Pods: tc.after, Existing: final, MaxEndpointsPerSlice: tc.max})
			if n := len(again.Create) + len(again.Update) + len(again.Delete); n != 0 {
				t.Fatalf("not converged: %d more writes", n)
			}
		})
	}
}

func TestPlanConditions(t *testing.T) {
	now := metav1.Now()
	ready := testPod(1, 80, true)
	notReady := testPod(2, 80, false)
	terminating := testPod(3, 80, true)
	terminating.DeletionTimestamp = &now
	terminal := testPod(4, 80, true)
	terminal.Status.Phase = corev1.PodFailed
	noIP := testPod(5, 80, true)
	noIP.Status.PodIPs = nil
	noPort := testPod(6, 80, true)
	noPort.Spec.Containers[0].Ports = nil

	type cond struct{ ready, serving, terminating bool }
	tests := []struct {
		name       string
		publish    bool
		want       map[string]cond
		portlessEp int
	}{
		{name: "default", want: map[string]cond{"p001": {true, true, false}, "p002": {false, false, false}, "p003": {false, true, true}}, portlessEp: 1},
		{name: "publishNotReadyAddresses", publish: true, want: map[string]cond{"p001": {true, true, false}, "p002": {true, false, false}, "p003": {true, true, true}}, portlessEp: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := testService()
			svc.Spec.PublishNotReadyAddresses = tc.publish
			r := Plan(Input{Service: svc, Pods: []*corev1.Pod{ready, notReady, terminating, terminal, noIP, noPort}, Zone: func(string) string { return "z1" }})
			got := map[string]cond{}
			portless := 0
			for _, s := range r.Create {
				if len(s.Ports) == 0 {
					portless += len(s.Endpoints)
					continue
				}
				if *s.Ports[0].Port != 80 || *s.Ports[0].Name != "http" {
					t.Errorf("ports %+v", s.Ports)
				}
				for _, e := range s.Endpoints {
					got[e.TargetRef.Name] = cond{*e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating}
					if *e.Zone != "z1" || *e.NodeName != "n1" {
						t.Errorf("endpoint %s zone/node %v/%v", e.TargetRef.Name, e.Zone, e.NodeName)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("conditions %v, want %v", got, tc.want)
			}
			if portless != tc.portlessEp {
				t.Errorf("%d endpoints without ports, want %d", portless, tc.portlessEp)
			}
		})
	}
}

func TestPlanHints(t *testing.T) {
	tests := []struct {
		name      string
		td        string
		zone      string
		wantZones bool
		wantNodes bool
	}{
		{name: "none", td: ""},
		{name: "PreferClose", td: corev1.ServiceTrafficDistributionPreferClose, zone: "z1", wantZones: true},
		{name: "PreferSameNode", td: corev1.ServiceTrafficDistributionPreferSameNode, zone: "z1", wantZones: true, wantNodes: true},
		{name: "PreferClose without zones", td: corev1.ServiceTrafficDistributionPreferClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := testService()
			if tc.td != "" {
				svc.Spec.TrafficDistribution = &tc.td
			}
			r := Plan(Input{Service: svc, Pods: pods(3, 80), Zone: func(string) string { return tc.zone }})
			for _, s := range r.Create {
				for _, e := range s.Endpoints {
					hasZones := e.Hints != nil && len(e.Hints.ForZones) == 1 && e.Hints.ForZones[0].Name == tc.zone
					hasNodes := e.Hints != nil && len(e.Hints.ForNodes) == 1 && e.Hints.ForNodes[0].Name == "n1"
					if hasZones != tc.wantZones || hasNodes != tc.wantNodes || (!tc.wantZones && e.Hints != nil) {
						t.Errorf("hints %+v", e.Hints)
					}
				}
			}
		})
	}
}

func TestPlanDeletesForeignSlices(t *testing.T) {
	svc := testService()
	existing := apply(nil, Plan(Input{Service: svc, Pods: pods(2, 80)}))
	// The Service was recreated: same name, new UID.
	recreated := testService()
	recreated.UID = "new-uid"
	r := Plan(Input{Service: recreated, Pods: pods(2, 80), Existing: existing})
	if len(r.Delete) != 1 || len(r.Create) != 1 {
		t.Fatalf("create/update/delete = %d/%d/%d, want 1/0/1", len(r.Create), len(r.Update), len(r.Delete))
	}
}
