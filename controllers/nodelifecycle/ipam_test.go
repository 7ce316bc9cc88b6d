package nodelifecycle_test

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/manager"
	"github.com/skiff-dev/skiff/controllers/nodeipam"
)

// startIPAM runs a controller manager with only node IPAM on the test
// server; the returned func stops it and waits.
func startIPAM(t *testing.T, opts controllers.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := manager.New(ctx, manager.Config{
		RESTConfig:              env.Config,
		Available:               []controllers.Descriptor{nodeipam.Descriptor},
		Controllers:             []string{"nodeipam"},
		Options:                 opts,
		GracefulShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		cancel()
		t.Fatalf("node IPAM manager: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cm.Start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node IPAM manager: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("node IPAM manager did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func plainNode(t *testing.T, name string) {
	t.Helper()
	if _, err := env.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func podCIDRs(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		out = n.Spec.PodCIDRs
		return len(out) == 2 && n.Spec.PodCIDR == out[0], nil
	}, "node %s gets pod CIDRs", name)
	return out
}

func waitCIDRNotAvailable(t *testing.T, name string) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		return hasEvent(ctx, "default", name, nodeipam.EventCIDRNotAvailable)
	}, "CIDRNotAvailable event for node %s", name)
	n, err := env.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Spec.PodCIDRs) != 0 {
		t.Fatalf("node %s got %v from an exhausted range", name, n.Spec.PodCIDRs)
	}
}

// TestNodeIPAM: dual-stack ranges of two subnets each; nodes get one subnet
// per family, the third waits with CIDRNotAvailable, a restart rebuilds the
// used set from the nodes (so a freed subnet, and only it, is handed out
// again), and deleting a node frees its subnets for a waiting one.
func TestNodeIPAM(t *testing.T) {
	ns := env.Namespace(t)
	opts := controllers.Options{ClusterCIDRs: []string{"10.77.0.0/23", "fd00:77::/63"}}
	_, v4, _ := net.ParseCIDR(opts.ClusterCIDRs[0])
	_, v6, _ := net.ParseCIDR(opts.ClusterCIDRs[1])
	check := func(name string, cidrs []string) {
		t.Helper()
		for i, want := range []struct {
			r    *net.IPNet
			ones int
		}{{v4, 24}, {v6, 64}} {
			ip, c, err := net.ParseCIDR(cidrs[i])
			if err != nil || !want.r.Contains(ip) {
				t.Fatalf("node %s pod CIDR %q not in %s (%v)", name, cidrs[i], want.r, err)
			}
			if ones, _ := c.Mask.Size(); ones != want.ones {
				t.Fatalf("node %s pod CIDR %q is not a /%d", name, cidrs[i], want.ones)
			}
		}
	}

	stop := startIPAM(t, opts)
	a, b, c, d := "ipam-a-"+ns, "ipam-b-"+ns, "ipam-c-"+ns, "ipam-d-"+ns
	plainNode(t, a)
	plainNode(t, b)
	ca, cb := podCIDRs(t, a), podCIDRs(t, b)
	check(a, ca)
	check(b, cb)
	if ca[0] == cb[0] || ca[1] == cb[1] {
		t.Fatalf("nodes share pod CIDRs: %v and %v", ca, cb)
	}
	plainNode(t, c)
	waitCIDRNotAvailable(t, c)

	// Restart with a node gone meanwhile: its subnets are free, b's not.
	stop()
	if err := env.Client.CoreV1().Nodes().Delete(context.Background(), a, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	startIPAM(t, opts)
	if cc := podCIDRs(t, c); cc[0] != ca[0] || cc[1] != ca[1] {
		t.Fatalf("after restart node %s got %v, want the freed %v (b holds %v)", c, cc, ca, cb)
	}
	plainNode(t, d)
	waitCIDRNotAvailable(t, d)

	// Deleting a node while running frees its subnets for the waiting one.
	if err := env.Client.CoreV1().Nodes().Delete(context.Background(), b, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if cd := podCIDRs(t, d); cd[0] != cb[0] || cd[1] != cb[1] {
		t.Fatalf("node %s got %v, want %v released by %s", d, cd, cb, b)
	}
}
