package integration

import (
	"context"
	"net"
	"os"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/bootstrap/kubernetesservice"
	apiserver "github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// TestKubernetesEndpointsGracefulShutdown starts a server advertising a
// non-loopback address (TEST-NET-1: never dialled here), sees it publish
// itself with its endpoint Lease, stops it, and restarts on the same data
// as a loopback server (which neither renews nor expires Leases): the
// Lease is gone, so the pre-shutdown hook removed it.
func TestKubernetesEndpointsGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	addr := net.ParseIP("192.0.2.10")
	dir := t.TempDir()
	first, err := testserver.Start(testserver.Options{DataDir: dir, Customize: func(o *apiserver.Options) {
		o.ServerRun.AdvertiseAddress = addr
	}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	client := first.Client()
	lease := kubernetesservice.LeaseName(addr)
	poll(t, func() bool {
		slice, err := client.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		return err == nil && len(slice.Endpoints) == 1 && slice.Endpoints[0].Addresses[0] == addr.String()
	})
	if _, err := client.CoordinationV1().Leases("kube-system").Get(ctx, lease, metav1.GetOptions{}); err != nil {
		t.Fatalf("endpoint lease: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// The restart writes a new kubeconfig (a new port); the old one would
	// be read before it.
	if err := os.Remove(first.KubeconfigPath); err != nil {
		t.Fatal(err)
	}
	second, err := testserver.Start(testserver.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer second.Stop()
	if _, err := second.Client().CoordinationV1().Leases("kube-system").Get(ctx, lease, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("endpoint lease after a graceful shutdown: err = %v, want NotFound", err)
	}
}
