package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// recordingSyncer keeps what it was asked to apply; the first failures
// calls fail.
type recordingSyncer struct {
	mu       sync.Mutex
	failures int
	calls    int
	last     string
}

func (r *recordingSyncer) Sync(own []*net.IPNet, peers []Peer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failures > 0 {
		r.failures--
		return errors.New("injected failure")
	}
	r.last = describe(own, peers)
	return nil
}

func (r *recordingSyncer) state() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.calls
}

// describe renders desired routes as "own=[...] a=cidrs@ips b=...".
func describe(own []*net.IPNet, peers []Peer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "own=%v", own)
	for _, p := range peers {
		fmt.Fprintf(&b, " %s=%v@%v", p.Name, p.PodCIDRs, p.NodeIPs)
	}
	return b.String()
}

func node(name string, cidrs []string, ips ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: cidrs}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
	return n
}

func TestDesiredFromNodes(t *testing.T) {
	objs := []any{
		node("c", []string{"10.9.2.0/24"}, "192.168.0.3"),
		node("self", []string{"10.9.0.0/24", "fd00:9::/64"}, "192.168.0.1"),
		node("b", []string{"10.9.1.0/24", "fd00:9:1::/64"}, "192.168.0.2", "192.168.0.22", "fd00::2"),
		node("no-cidr", nil, "192.168.0.4"),
		node("no-ip", []string{"10.9.5.0/24"}),
	}
	got := desiredFromNodes("self", objs)
	want := "own=[10.9.0.0/24 fd00:9::/64] b=[10.9.1.0/24 fd00:9:1::/64]@[192.168.0.2 fd00::2] c=[10.9.2.0/24]@[192.168.0.3]"
	if d := describe(got.own, got.peers); d != want {
		t.Errorf("desired =\n %s\nwant\n %s", d, want)
	}
}

// TestPeerRoutesFollowNodes drives RunPeerRoutes with Node objects of a
// real API server: peers appear, change and go, and a failed sync is
// retried.
func TestPeerRoutesFollowNodes(t *testing.T) {
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	client := ts.Client()
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	defer cancel()

	create := func(n *corev1.Node) {
		t.Helper()
		status := n.Status
		created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status = status
		if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create(node("self", []string{"10.9.0.0/24"}, "192.168.0.1"))
	create(node("b", []string{"10.9.1.0/24"}, "192.168.0.2"))

	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes().Informer()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	syncer := &recordingSyncer{failures: 1}
	done := make(chan error, 1)
	go func() {
		done <- RunPeerRoutes(ctx, PeerRoutesConfig{NodeName: "self", Nodes: nodes, Syncer: syncer, Resync: time.Hour})
	}()
	waitFor := func(what, want string) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
			got, _ := syncer.state()
			return got == want, nil
		})
		if err != nil {
			got, calls := syncer.state()
			t.Fatalf("%s: routes %q after %d syncs, want %q", what, got, calls, want)
		}
	}
	// The first sync fails; the retry applies b.
	waitFor("initial, after a failed sync", "own=[10.9.0.0/24] b=[10.9.1.0/24]@[192.168.0.2]")
	if _, calls := syncer.state(); calls < 2 {
		t.Errorf("%d syncs, want the failed one and its retry", calls)
	}

	create(node("c", []string{"10.9.2.0/24"}, "192.168.0.3"))
	waitFor("node c added", "own=[10.9.0.0/24] b=[10.9.1.0/24]@[192.168.0.2] c=[10.9.2.0/24]@[192.168.0.3]")

	b, err := client.CoreV1().Nodes().Get(ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Status.Addresses[0].Address = "192.168.0.20"
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("node b moved", "own=[10.9.0.0/24] b=[10.9.1.0/24]@[192.168.0.20] c=[10.9.2.0/24]@[192.168.0.3]")

	// A status heartbeat that changes nothing routed applies nothing.
	_, before := syncer.state()
	c, err := client.CoreV1().Nodes().Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Labels = map[string]string{"touched": "yes"}
	if _, err := client.CoreV1().Nodes().Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := client.CoreV1().Nodes().Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("node b deleted", "own=[10.9.0.0/24] c=[10.9.2.0/24]@[192.168.0.3]")
	if _, after := syncer.state(); after != before+1 {
		t.Errorf("%d syncs for a label change and a deletion, want 1", after-before)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunPeerRoutes: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunPeerRoutes did not return after its context ended")
	}
}
