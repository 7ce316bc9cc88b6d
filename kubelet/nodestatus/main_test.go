package nodestatus

import (
	"fmt"
	"net"
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// client is an admin client of the API server shared by this package's tests.
var client kubernetes.Interface

func TestMain(m *testing.M) {
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start API server:", err)
		os.Exit(1)
	}
	client = ts.Client()
	code := m.Run()
	if err := ts.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop API server:", err)
	}
	os.Exit(code)
}

// hostIP returns an address of a host interface that a node may report.
func hostIP(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && validateHostIP(n.IP) == nil {
			return n.IP
		}
	}
	t.Skip("the host has no non-loopback unicast address to report as the node IP")
	return nil
}
