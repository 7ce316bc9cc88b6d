//go:build linux

package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// TestProxyOperations checks, against a real API server, the
// healthCheckNodePort of an externalTrafficPolicy: Local Service (200 with
// kube-proxy's body while node-a has an endpoint, 503 once it has none),
// /metrics (sync histogram, programmed gauges, per-service connection
// counts from the stats map) and the status report read from the pins
// after the proxy has stopped.
func TestProxyOperations(t *testing.T) {
	requirePrivileges(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatalf("start API server: %v", err)
	}
	t.Cleanup(func() {
		if err := ts.Stop(); err != nil {
			t.Errorf("stop API server: %v", err)
		}
	})
	kc := ts.Client()
	cgroup, cgFD := testCgroup(t)
	pinDir := testPinDir(t)
	c := startClient(t, cgFD)
	b1 := c.backends[0]

	const ns = "ops-test"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := kc.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "edge"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(int32(b1.Port()))}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hcPort := uint16(svc.Spec.HealthCheckNodePort)
	if hcPort == 0 {
		t.Fatalf("API server allocated no healthCheckNodePort: %+v", svc.Spec)
	}
	vip := netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), 80)
	slices1 := kc.DiscoveryV1().EndpointSlices(ns)
	if _, err := slices1.Create(ctx, endpointSlice(ns, "edge-a", "edge", b1, b1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	sizes := MapSizes{Services: 1024, Backends: 1024, Affinity: 1024, RevNat: 4096, Conntrack: 1024}
	p, err := New(Config{RESTConfig: ts.Config, NodeName: "node-a", PinDir: pinDir, CgroupPath: cgroup,
		MaglevTableSize: 1021, MapSizes: sizes, HealthzBindAddress: "127.0.0.1:0", MetricsBindAddress: "127.0.0.1:0",
		HealthCheckNodePortHost: "127.0.0.1"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Start did not return after cancel")
		}
	}
	t.Cleanup(func() {
		stop()
		if err := Cleanup(Config{PinDir: pinDir, CgroupPath: cgroup, MaglevTableSize: 1021, MapSizes: sizes}); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})

	// The health check port says whether node-a has a local endpoint.
	hcGet := func() (int, hcBody, http.Header, string) {
		addr := p.HealthCheckNodePortAddr(hcPort)
		if addr == nil {
			return 0, hcBody{}, nil, "not served yet"
		}
		resp, err := http.Get("http://" + addr.String() + "/")
		if err != nil {
			return 0, hcBody{}, nil, err.Error()
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var b hcBody
		if err := json.Unmarshal(raw, &b); err != nil {
			return resp.StatusCode, b, resp.Header, fmt.Sprintf("bad body %q: %v", raw, err)
		}
		return resp.StatusCode, b, resp.Header, string(raw)
	}
	eventually(t, "healthCheckNodePort answers 200 with one local endpoint", func() (bool, string) {
		code, b, h, raw := hcGet()
		ok := code == http.StatusOK && b.LocalEndpoints == 1 && b.ServiceProxyHealthy &&
			b.Service.Namespace == ns && b.Service.Name == "edge" && h.Get("X-Load-Balancing-Endpoint-Weight") == "1"
		return ok, fmt.Sprintf("%d %s", code, raw)
	})

	// Connections through the VIP show up in the per-service counter.
	const n = 7
	for range n {
		if r := c.dial(vip.String()); r.Err != "" {
			t.Fatalf("dial %s: %+v", vip, r)
		}
	}
	metricsURL := "http://" + p.MetricsAddr().String() + "/metrics"
	wantLine := fmt.Sprintf(`skiff_proxy_service_connections_total{family="IPv4",namespace="%s",port="http",protocol="TCP",scope="internal",service="edge"} %d`, ns, n)
	eventually(t, "metrics", func() (bool, string) {
		resp, err := http.Get(metricsURL)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		body := string(raw)
		for _, want := range []string{wantLine, "kubeproxy_sync_proxy_rules_duration_seconds_count ", "skiff_proxy_programmed_services 2",
			"skiff_proxy_programmed_backends 1", "kubeproxy_sync_proxy_rules_last_timestamp_seconds "} {
			if !strings.Contains(body, want) {
				return false, "no " + want + " in:\n" + grepLines(body, "skiff_proxy_|kubeproxy_")
			}
		}
		return true, ""
	})

	// The endpoint moves to another node: no local endpoint, 503.
	moved := endpointSlice(ns, "edge-a", "edge", b1, b1)
	moved.Endpoints[0].NodeName = ptr.To("node-b")
	if _, err := slices1.Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "healthCheckNodePort answers 503 without a local endpoint", func() (bool, string) {
		code, b, _, raw := hcGet()
		return code == http.StatusServiceUnavailable && b.LocalEndpoints == 0 && b.ServiceProxyHealthy, fmt.Sprintf("%d %s", code, raw)
	})

	// Status reads the pins with no proxy running.
	stop()
	var out bytes.Buffer
	if err := WriteStatus(&out, pinDir); err != nil {
		t.Fatalf("WriteStatus: %v", err)
	}
	for _, want := range []string{vip.String(), b1.String(), "socket"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, vip.String()+" ") {
			if f := strings.Fields(line); len(f) < 9 || f[7] != fmt.Sprint(n) {
				t.Errorf("status line for %s does not count %d connections: %q", vip, n, line)
			}
		}
	}
	t.Logf("status:\n%s", out.String())
}

func grepLines(s, prefixes string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range strings.Split(prefixes, "|") {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}
