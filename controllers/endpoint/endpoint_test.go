package endpoint

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func pod(name string, ip string, ready bool, port int32) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
		},
	}
}

func svc(mut func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": "web"},
			ClusterIP:  "10.0.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	if mut != nil {
		mut(s)
	}
	return s
}

// flat renders subsets as "ready|notReady@ports" strings of pod names.
func flat(subsets []corev1.EndpointSubset) []string {
	var out []string
	for _, s := range subsets {
		line := ""
		for _, a := range s.Addresses {
			line += a.TargetRef.Name + " "
		}
		line += "|"
		for _, a := range s.NotReadyAddresses {
			line += " " + a.TargetRef.Name
		}
		line += " @"
		for _, p := range s.Ports {
			line += fmt.Sprintf(" %s:%d", p.Name, p.Port)
		}
		out = append(out, line)
	}
	return out
}

func TestSubsets(t *testing.T) {
	now := metav1.Now()
	terminating := pod("term", "10.1.0.5", true, 8080)
	terminating.DeletionTimestamp = &now
	failed := pod("failed", "10.1.0.6", true, 8080)
	failed.Status.Phase = corev1.PodFailed
	noIP := pod("noip", "", true, 8080)
	noIP.Status.PodIPs = nil
	noPort := pod("noport", "10.1.0.7", true, 8080)
	noPort.Spec.Containers[0].Ports = nil
	v6only := pod("v6", "fd00::1", true, 8080)

	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want []string
	}{
		{
			name: "ready and not ready, named ports per pod",
			svc:  svc(nil),
			pods: []*corev1.Pod{pod("a", "10.1.0.1", true, 8080), pod("b", "10.1.0.2", false, 8080), pod("c", "10.1.0.3", true, 9090)},
			want: []string{"a | b @ http:8080", "c | @ http:9090"},
		},
		{
			name: "terminating, terminal, IP-less, portless and wrong-family pods are skipped",
			svc:  svc(nil),
			pods: []*corev1.Pod{pod("a", "10.1.0.1", true, 8080), terminating, failed, noIP, noPort, v6only},
			want: []string{"a | @ http:8080"},
		},
		{
			name: "publishNotReadyAddresses makes every pod ready, terminating ones too",
			svc:  svc(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods: []*corev1.Pod{pod("b", "10.1.0.2", false, 8080), terminating},
			want: []string{"b term | @ http:8080"},
		},
		{
			name: "headless without ports lists addresses alone",
			svc: svc(func(s *corev1.Service) {
				s.Spec.ClusterIP = corev1.ClusterIPNone
				s.Spec.Ports = nil
			}),
			pods: []*corev1.Pod{pod("a", "10.1.0.1", true, 8080)},
			want: []string{"a | @"},
		},
		{
			name: "numeric target port",
			svc:  svc(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(7000) }),
			pods: []*corev1.Pod{pod("a", "10.1.0.1", true, 8080), pod("b", "10.1.0.2", true, 9090)},
			want: []string{"a b | @ http:7000"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated := Subsets(tc.svc, tc.pods, func(string, ...any) {})
			if truncated {
				t.Error("truncated")
			}
			if d := cmp.Diff(tc.want, flat(got)); d != "" {
				t.Errorf("subsets (-want +got):\n%s", d)
			}
		})
	}
}

func TestSubsetsHostnameAndRefs(t *testing.T) {
	s := svc(nil)
	p := pod("a", "10.1.0.1", true, 8080)
	p.Spec.Hostname, p.Spec.Subdomain = "a-host", "web"
	q := pod("b", "10.1.0.2", true, 8080)
	q.Spec.Hostname, q.Spec.Subdomain = "b-host", "other"
	got, _ := Subsets(s, []*corev1.Pod{p, q}, func(string, ...any) {})
	if len(got) != 1 || len(got[0].Addresses) != 2 {
		t.Fatalf("subsets %+v", got)
	}
	a, b := got[0].Addresses[0], got[0].Addresses[1]
	if a.Hostname != "a-host" || b.Hostname != "" {
		t.Errorf("hostnames %q %q", a.Hostname, b.Hostname)
	}
	if a.NodeName == nil || *a.NodeName != "n1" || a.TargetRef.Kind != "Pod" || a.TargetRef.UID != "uid-a" {
		t.Errorf("address %+v", a)
	}
}

func TestTruncate(t *testing.T) {
	addrs := func(prefix string, n int) []corev1.EndpointAddress {
		out := make([]corev1.EndpointAddress, n)
		for i := range out {
			out[i] = corev1.EndpointAddress{IP: fmt.Sprintf("%s.%d", prefix, i)}
		}
		return out
	}
	count := func(ss []corev1.EndpointSubset) (r, nr []int) {
		for _, s := range ss {
			r = append(r, len(s.Addresses))
			nr = append(nr, len(s.NotReadyAddresses))
		}
		return
	}
	tests := []struct {
		name                  string
		subsets               []corev1.EndpointSubset
		max                   int
		wantReady, wantNotRdy []int
		wantTruncated         bool
	}{
		{name: "under capacity", subsets: []corev1.EndpointSubset{{Addresses: addrs("a", 5), NotReadyAddresses: addrs("b", 5)}}, max: 10,
			wantReady: []int{5}, wantNotRdy: []int{5}},
		{name: "not-ready cut first", subsets: []corev1.EndpointSubset{{Addresses: addrs("a", 6), NotReadyAddresses: addrs("b", 6)}}, max: 10,
			wantReady: []int{6}, wantNotRdy: []int{4}, wantTruncated: true},
		{name: "ready over capacity drops all not-ready, cuts proportionally", subsets: []corev1.EndpointSubset{
			{Addresses: addrs("a", 600), NotReadyAddresses: addrs("b", 10)},
			{Addresses: addrs("c", 900)},
		}, max: 1000, wantReady: []int{400, 600}, wantNotRdy: []int{0, 0}, wantTruncated: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated := Truncate(tc.subsets, tc.max)
			r, nr := count(got)
			if truncated != tc.wantTruncated || fmt.Sprint(r) != fmt.Sprint(tc.wantReady) || fmt.Sprint(nr) != fmt.Sprint(tc.wantNotRdy) {
				t.Errorf("truncated=%v ready=%v notReady=%v, want %v %v %v", truncated, r, nr, tc.wantTruncated, tc.wantReady, tc.wantNotRdy)
			}
		})
	}
}

func TestSubsetsOverCapacity(t *testing.T) {
	var pods []*corev1.Pod
	for i := 0; i < 1100; i++ {
		pods = append(pods, pod(fmt.Sprintf("p%d", i), fmt.Sprintf("10.%d.%d.1", i/250, i%250), true, 8080))
	}
	got, truncated := Subsets(svc(nil), pods, func(string, ...any) {})
	if !truncated || len(got) != 1 || len(got[0].Addresses) != MaxCapacity {
		t.Fatalf("truncated=%v, %d subsets", truncated, len(got))
	}
}
