package kubernetesservice_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/bootstrap/kubernetesservice"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

var ts *testserver.TestServer

func TestMain(m *testing.M) {
	s, err := testserver.Start(testserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test server:", err)
		os.Exit(1)
	}
	ts = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop test server:", err)
	}
	os.Exit(code)
}

func serverPort(t *testing.T) int32 {
	t.Helper()
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return int32(p)
}

// published returns the addresses in the kubernetes Endpoints and
// EndpointSlice, failing the test when they disagree.
func published(t *testing.T, client kubernetes.Interface) []string {
	t.Helper()
	ctx := context.Background()
	ep, err := client.CoreV1().Endpoints(metav1.NamespaceDefault).Get(ctx, kubernetesservice.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Endpoints: %v", err)
	}
	var fromEndpoints []string
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			fromEndpoints = append(fromEndpoints, a.IP)
		}
	}
	slice, err := client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Get(ctx, kubernetesservice.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get EndpointSlice: %v", err)
	}
	var fromSlice []string
	for _, e := range slice.Endpoints {
		fromSlice = append(fromSlice, e.Addresses...)
	}
	if !reflect.DeepEqual(fromEndpoints, fromSlice) {
		t.Fatalf("Endpoints list %v, EndpointSlice %v", fromEndpoints, fromSlice)
	}
	return fromSlice
}

// TestSeveralAPIServers runs the reconcilers of two API servers (as two
// servers sharing etcd would) against one real server: both are published,
// a dead one leaves after its TTL, and a graceful shutdown leaves at once.
func TestSeveralAPIServers(t *testing.T) {
	ctx := context.Background()
	client := ts.Client()
	const ttl = 2 * time.Second
	cfg := func(ip string) kubernetesservice.Config {
		_, cidr, _ := net.ParseCIDR("10.0.0.0/24")
		return kubernetesservice.Config{CIDRs: []*net.IPNet{cidr}, ClusterIP: net.ParseIP("10.0.0.1"), Address: net.ParseIP(ip), Port: serverPort(t), LeaseTTL: ttl}
	}
	a, b := kubernetesservice.New(client, cfg("10.20.30.1")), kubernetesservice.New(client, cfg("10.20.30.2"))
	sync := func(r *kubernetesservice.Reconciler) {
		t.Helper()
		if err := r.Sync(ctx); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
	// a's last renewal is no earlier than died.
	died := time.Now()
	sync(a)
	sync(b)
	if got, want := published(t, client), []string{"10.20.30.1", "10.20.30.2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after both synced: %v, want %v", got, want)
	}

	// a stops renewing: b keeps it until its lease expires.
	sync(b)
	if got := published(t, client); len(got) != 2 && time.Since(died) < ttl {
		t.Fatalf("a dropped before its TTL: %v", got)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*ttl, true, func(ctx context.Context) (bool, error) {
		sync(b)
		return reflect.DeepEqual(published(t, client), []string{"10.20.30.2"}), nil
	})
	if err != nil {
		t.Fatalf("dead server never left the endpoints: %v (now %v)", err, published(t, client))
	}
	if gone := time.Since(died); gone < ttl-50*time.Millisecond {
		t.Errorf("dead server left after %v, before its TTL %v", gone, ttl)
	}
	if _, err := client.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, kubernetesservice.LeaseName(net.ParseIP("10.20.30.1")), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dead server's lease: err = %v, want NotFound", err)
	}

	// a comes back, then shuts down gracefully: out at once, and its
	// stopped reconciler writes nothing more.
	sync(a)
	if got, want := published(t, client), []string{"10.20.30.1", "10.20.30.2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after a came back: %v, want %v", got, want)
	}
	if err := a.RemoveSelf(ctx); err != nil {
		t.Fatalf("RemoveSelf: %v", err)
	}
	if got, want := published(t, client), []string{"10.20.30.2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after a shut down: %v, want %v", got, want)
	}
	sync(a)
	if got, want := published(t, client), []string{"10.20.30.2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("a stopped reconciler synced: %v, want %v", got, want)
	}

	// The last server going leaves the endpoints alone, as upstream.
	if err := b.RemoveSelf(ctx); err != nil {
		t.Fatalf("RemoveSelf: %v", err)
	}
	if got, want := published(t, client), []string{"10.20.30.2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the last server shut down: %v, want %v", got, want)
	}
}
