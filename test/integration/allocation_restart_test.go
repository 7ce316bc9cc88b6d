package integration

import (
	"context"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// TestServiceAllocationsSurviveRestart creates NodePort Services, restarts
// the server on the same data, and checks that their ClusterIPs and
// NodePorts are still taken (a create asking for them is refused naming
// the field) and that deleting one after the restart releases them.
func TestServiceAllocationsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := testserver.Start(testserver.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	const n = 5
	before := map[string]*corev1.Service{}
	for i := range n {
		name := "keep" + string(rune('a'+i))
		svc, err := first.Client().CoreV1().Services("default").Create(ctx, newService(name, corev1.ServiceTypeNodePort), metav1.CreateOptions{})
		if err != nil {
			first.Stop()
			t.Fatalf("create %s: %v", name, err)
		}
		before[name] = svc
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// The restart writes a new kubeconfig (a new port).
	if err := os.Remove(first.KubeconfigPath); err != nil {
		t.Fatal(err)
	}
	second, err := testserver.Start(testserver.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer second.Stop()
	services := second.Client().CoreV1().Services("default")

	for name, svc := range before {
		got, err := services.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get %s after restart: %v", name, err)
		}
		if got.Spec.ClusterIP != svc.Spec.ClusterIP || got.Spec.Ports[0].NodePort != svc.Spec.Ports[0].NodePort {
			t.Errorf("%s changed over the restart: %s/%d, want %s/%d", name, got.Spec.ClusterIP, got.Spec.Ports[0].NodePort, svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
		}
		if _, err := second.Client().NetworkingV1().IPAddresses().Get(ctx, svc.Spec.ClusterIP, metav1.GetOptions{}); err != nil {
			t.Errorf("IPAddress %s of %s after restart: %v", svc.Spec.ClusterIP, name, err)
		}
		for _, c := range []struct {
			field, want string
			set         func(*corev1.Service)
		}{
			{"spec.clusterIPs", "provided IP is already allocated", func(s *corev1.Service) { s.Spec.ClusterIP = svc.Spec.ClusterIP }},
			{"spec.ports[0].nodePort", "provided port is already allocated", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = svc.Spec.Ports[0].NodePort }},
		} {
			taken := newService("taken", corev1.ServiceTypeNodePort)
			c.set(taken)
			_, err := services.Create(ctx, taken, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !contains(err.Error(), c.field) || !contains(err.Error(), c.want) {
				t.Errorf("create asking for %s's %s after restart: err = %v, want Invalid %q", name, c.field, err, c.want)
			}
		}
	}

	// Released after the restart: the same IP and port can be taken again.
	old := before["keepa"]
	if err := services.Delete(ctx, "keepa", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := newService("again", corev1.ServiceTypeNodePort)
	again.Spec.ClusterIP = old.Spec.ClusterIP
	again.Spec.Ports[0].NodePort = old.Spec.Ports[0].NodePort
	if _, err := services.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Errorf("reuse of an IP and port released after the restart: %v", err)
	}
}
