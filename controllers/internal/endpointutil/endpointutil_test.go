package endpointutil

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestFindPort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080},
			{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
		}}},
		InitContainers: []corev1.Container{
			{RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{Name: "sidecar", ContainerPort: 9000}}},
			{Ports: []corev1.ContainerPort{{Name: "init", ContainerPort: 9001}}},
		},
	}}
	tests := []struct {
		name    string
		port    corev1.ServicePort
		want    int
		wantErr bool
	}{
		{name: "number", port: corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(7000)}, want: 7000},
		{name: "unset number defaults to port", port: corev1.ServicePort{Port: 80}, want: 80},
		{name: "name", port: corev1.ServicePort{TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}, want: 8080},
		{name: "name with protocol", port: corev1.ServicePort{TargetPort: intstr.FromString("dns"), Protocol: corev1.ProtocolUDP}, want: 5353},
		{name: "name with other protocol", port: corev1.ServicePort{TargetPort: intstr.FromString("dns"), Protocol: corev1.ProtocolTCP}, wantErr: true},
		{name: "sidecar port", port: corev1.ServicePort{TargetPort: intstr.FromString("sidecar")}, want: 9000},
		{name: "plain init container port", port: corev1.ServicePort{TargetPort: intstr.FromString("init")}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindPort(pod, &tc.port)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("FindPort = %d, %v; want %d, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestTriggerTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "n", CreationTimestamp: metav1.NewTime(t0)}}
	pod := func(name string, ts time.Time) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(ts)},
		}}}
	}
	tr := NewTriggerTimeTracker()
	steps := []struct {
		name string
		pods []*corev1.Pod
		want time.Time
	}{
		{name: "first sync: service creation", pods: []*corev1.Pod{pod("a", t0.Add(time.Minute))}, want: t0},
		{name: "nothing changed", pods: []*corev1.Pod{pod("a", t0.Add(time.Minute))}},
		{name: "one pod changed", pods: []*corev1.Pod{pod("a", t0.Add(3*time.Minute))}, want: t0.Add(3 * time.Minute)},
		{name: "earliest of two changes", pods: []*corev1.Pod{pod("a", t0.Add(5*time.Minute)), pod("b", t0.Add(4*time.Minute))}, want: t0.Add(4 * time.Minute)},
	}
	for _, s := range steps {
		got, commit := tr.Compute(svc, s.pods)
		if !got.Equal(s.want) {
			t.Errorf("%s: %v, want %v", s.name, got, s.want)
		}
		// An uncommitted sync is reported again.
		if again, _ := tr.Compute(svc, s.pods); !again.Equal(s.want) {
			t.Errorf("%s, uncommitted: %v, want %v", s.name, again, s.want)
		}
		commit()
	}
}

func TestSliceTracker(t *testing.T) {
	tr := NewSliceTracker()
	a1 := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: "a", Generation: 1}}
	a2 := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: "a", Generation: 2}}
	b := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: "b", Generation: 1}}
	steps := []struct {
		name   string
		do     func()
		cached []*discovery.EndpointSlice
		want   bool
	}{
		{name: "nothing written", cached: nil, want: false},
		{name: "created, not yet seen", do: func() { tr.Expect("svc", a1) }, cached: nil, want: true},
		{name: "created and seen", cached: []*discovery.EndpointSlice{a1}, want: false},
		{name: "updated, old generation cached", do: func() { tr.Expect("svc", a2) }, cached: []*discovery.EndpointSlice{a1}, want: true},
		{name: "updated and seen", cached: []*discovery.EndpointSlice{a2}, want: false},
		{name: "deleted, still cached", do: func() { tr.Expect("svc", b); tr.ExpectDeletion("svc", b) }, cached: []*discovery.EndpointSlice{a2, b}, want: true},
		{name: "deletion seen", cached: []*discovery.EndpointSlice{a2}, want: false},
		{name: "deleted by someone else", do: func() { tr.Observe(a2) }, cached: nil, want: false},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		if got := tr.Stale("svc", s.cached); got != s.want {
			t.Errorf("%s: stale=%v, want %v", s.name, got, s.want)
		}
	}
}
