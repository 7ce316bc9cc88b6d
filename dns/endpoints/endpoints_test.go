package endpoints

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

func TestMarkPeer(t *testing.T) {
	tests := []struct {
		name        string
		ready       bool
		node        string
		nodes       map[string]bool
		wantReady   bool
		wantChanged bool
	}{
		{name: "ready on a Ready node stays", ready: true, node: "a", nodes: map[string]bool{"a": true}, wantReady: true},
		{name: "ready on a NotReady node is marked", ready: true, node: "a", nodes: map[string]bool{"a": false}, wantChanged: true},
		{name: "ready on a deleted node is marked", ready: true, node: "a", nodes: map[string]bool{}, wantChanged: true},
		{name: "not ready on a Ready node is left to its server", ready: false, node: "a", nodes: map[string]bool{"a": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{{
				Addresses: []string{"192.0.2.1"}, NodeName: ptr.To(tc.node),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(tc.ready), Serving: ptr.To(tc.ready)},
			}}}
			if changed := markPeer(s, tc.nodes); changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if got := *s.Endpoints[0].Conditions.Ready; got != tc.wantReady {
				t.Errorf("ready = %v, want %v", got, tc.wantReady)
			}
		})
	}
}

// TestPublisher drives two servers' slices against a real API server: the
// live one publishes itself, follows its own readiness, marks the dead
// one's endpoint not ready once its Node is NotReady, and removes its
// slice when it stops.
func TestPublisher(t *testing.T) {
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	client := ts.Client()
	ctx := context.Background()
	if _, err := client.CoreV1().Services("kube-system").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
			{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9154)},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cp-1", "cp-2"} {
		makeNode(t, client, n, corev1.ConditionTrue)
	}
	var serving atomic.Bool
	serving.Store(true)
	mk := func(node, addr string) *Publisher {
		p, err := New(Config{Client: client, Namespace: "kube-system", Service: "kube-dns", NodeName: node,
			Address: netip.MustParseAddr(addr), Serving: serving.Load, Period: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// cp-2's server publishes once and dies (kill -9: no cleanup).
	dead := mk("cp-2", "192.0.2.2")
	if err := dead.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	live := mk("cp-1", "192.0.2.1")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); live.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	waitReady(t, client, "kube-dns-cp-1", true)
	s, _ := client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-cp-1", metav1.GetOptions{})
	if len(s.Ports) != 2 || *s.Ports[1].Port != 9154 || *s.Endpoints[0].NodeName != "cp-1" || s.Endpoints[0].Addresses[0] != "192.0.2.1" {
		t.Errorf("slice %+v: want the Service's target ports and the server's own address and node", s)
	}
	waitReady(t, client, "kube-dns-cp-2", true)

	serving.Store(false)
	waitReady(t, client, "kube-dns-cp-1", false)
	serving.Store(true)
	waitReady(t, client, "kube-dns-cp-1", true)

	setNodeReady(t, client, "cp-2", corev1.ConditionUnknown)
	waitReady(t, client, "kube-dns-cp-2", false)
	// cp-1 stays ready, and never claims cp-2 ready again on its own.
	waitReady(t, client, "kube-dns-cp-1", true)
	setNodeReady(t, client, "cp-2", corev1.ConditionTrue)
	if err := dead.Sync(ctx); err != nil { // cp-2's server is back
		t.Fatal(err)
	}
	waitReady(t, client, "kube-dns-cp-2", true)

	stop()
	<-done
	if _, err := client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-cp-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the stop, get kube-dns-cp-1: %v, want NotFound", err)
	}
}

func TestNewRejectsWildcardAddress(t *testing.T) {
	_, err := New(Config{Client: nil, Namespace: "kube-system", Service: "kube-dns", NodeName: "n", Address: netip.MustParseAddr("0.0.0.0"), Serving: func() bool { return true }})
	if err == nil {
		t.Fatal("New accepted 0.0.0.0 and no client")
	}
}

func makeNode(t *testing.T, c kubernetes.Interface, name string, ready corev1.ConditionStatus) {
	t.Helper()
	if _, err := c.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setNodeReady(t, c, name, ready)
}

func setNodeReady(t *testing.T, c kubernetes.Interface, name string, ready corev1.ConditionStatus) {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitReady(t *testing.T, c kubernetes.Interface, slice string, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		s, err := c.DiscoveryV1().EndpointSlices("kube-system").Get(context.Background(), slice, metav1.GetOptions{})
		if err == nil && len(s.Endpoints) == 1 {
			if ptr.Deref(s.Endpoints[0].Conditions.Ready, false) == want {
				return
			}
			last = "ready=" + map[bool]string{true: "true", false: "false"}[ptr.Deref(s.Endpoints[0].Conditions.Ready, false)]
		} else if err != nil {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("EndpointSlice %s: ready never became %v (last: %s)", slice, want, last)
}
