package tables

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	web  = ServiceName{"default", "web"}
	node = Node{Name: "n1", Zone: "z1", Addresses: []netip.Addr{netip.MustParseAddr("10.250.255.1"), netip.MustParseAddr("fd00:250::ff:1")}}
)

func be(addr string, mods ...func(*Backend)) Backend {
	b := Backend{Addr: netip.MustParseAddrPort(addr), Protocol: TCP, PortName: "http", NodeName: "n2", Zone: "z2", Ready: true, Serving: true}
	for _, m := range mods {
		m(&b)
	}
	return b
}

func terminating(b *Backend) { b.Ready, b.Terminating = false, true }
func notServing(b *Backend)  { b.Serving = false }
func onNode1(b *Backend)     { b.NodeName, b.Zone = "n1", "z1" }
func hintZone(z ...string) func(*Backend) {
	return func(b *Backend) { b.ForZones = z }
}

// summary renders Desired compactly: "key [frontends] -> [backends]".
func summary(d Desired) string {
	var sb strings.Builder
	for _, s := range d.Services {
		fmt.Fprintf(&sb, "%s %v -> %v", s.Key, s.Frontends, s.Backends)
		if s.AffinityTimeout != 0 {
			fmt.Fprintf(&sb, " affinity=%s", s.AffinityTimeout)
		}
		sb.WriteString("\n")
	}
	for _, c := range d.Conflicts {
		fmt.Fprintf(&sb, "conflict: %s\n", c)
	}
	return sb.String()
}

func TestDesired(t *testing.T) {
	vip := []netip.Addr{netip.MustParseAddr("10.250.0.10")}
	httpPort := []ServicePort{{Name: "http", Protocol: TCP, Port: 80}}
	for _, tc := range []struct {
		name     string
		svc      Service
		backends []Backend
		want     string
	}{{
		name:     "ready backends only",
		svc:      Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		backends: []Backend{be("10.244.0.2:8080"), be("10.244.0.1:8080"), be("10.244.0.3:8080", terminating)},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.0.1:8080 10.244.0.2:8080]\n",
	}, {
		name:     "serving terminating when nothing is ready",
		svc:      Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		backends: []Backend{be("10.244.0.3:8080", terminating), be("10.244.0.4:8080", terminating, notServing)},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.0.3:8080]\n",
	}, {
		name: "no backends refuses",
		svc:  Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		want: "default/web:http/TCP [10.250.0.10:80/TCP] -> []\n",
	}, {
		name:     "headless is left alone",
		svc:      Service{Name: web, Ports: httpPort},
		backends: []Backend{be("10.244.0.1:8080")},
		want:     "",
	}, {
		name: "ports match backends by name and protocol",
		svc: Service{Name: web, ClusterIPs: vip, Ports: []ServicePort{
			{Name: "http", Protocol: TCP, Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}}},
		backends: []Backend{be("10.244.0.1:8080"), be("10.244.0.1:5353", func(b *Backend) { b.PortName, b.Protocol = "dns", UDP }),
			be("10.244.0.9:53", func(b *Backend) { b.PortName = "dns" })},
		want: "default/web:dns/UDP [10.250.0.10:53/UDP] -> [10.244.0.1:5353]\n" +
			"default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.0.1:8080]\n",
	}, {
		name: "NodePort on same-family node addresses, externalIPs, affinity",
		svc: Service{Name: web, ClusterIPs: vip, ExternalIPs: []netip.Addr{netip.MustParseAddr("10.250.254.1")},
			Ports: []ServicePort{{Name: "http", Protocol: TCP, Port: 80, NodePort: 30080}}, AffinityTimeout: 3 * time.Hour},
		backends: []Backend{be("10.244.0.1:8080")},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP 10.250.254.1:80/TCP 10.250.255.1:30080/TCP] -> [10.244.0.1:8080] affinity=3h0m0s\n",
	}, {
		name: "internalTrafficPolicy Local splits the scopes",
		svc: Service{Name: web, ClusterIPs: vip, InternalTrafficPolicy: PolicyLocal,
			Ports: []ServicePort{{Name: "http", Protocol: TCP, Port: 80, NodePort: 30080}}},
		backends: []Backend{be("10.244.0.1:8080"), be("10.244.1.1:8080", onNode1)},
		want: "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.1.1:8080]\n" +
			"default/web:http/TCP(external) [10.250.255.1:30080/TCP] -> [10.244.0.1:8080 10.244.1.1:8080]\n",
	}, {
		name:     "internalTrafficPolicy Local without local endpoints refuses",
		svc:      Service{Name: web, ClusterIPs: vip, InternalTrafficPolicy: PolicyLocal, Ports: httpPort},
		backends: []Backend{be("10.244.0.1:8080")},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> []\n",
	}, {
		name:     "zone hints narrow to this zone",
		svc:      Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		backends: []Backend{be("10.244.0.1:8080", hintZone("z2")), be("10.244.1.1:8080", onNode1, hintZone("z1"))},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.1.1:8080]\n",
	}, {
		name:     "zone hints ignored unless every endpoint has one",
		svc:      Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		backends: []Backend{be("10.244.0.1:8080"), be("10.244.1.1:8080", onNode1, hintZone("z1"))},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.0.1:8080 10.244.1.1:8080]\n",
	}, {
		name:     "zone hints ignored when none names this zone",
		svc:      Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		backends: []Backend{be("10.244.0.1:8080", hintZone("z2")), be("10.244.0.2:8080", hintZone("z3"))},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.0.1:8080 10.244.0.2:8080]\n",
	}, {
		name:     "duplicate endpoints merge, ready wins",
		svc:      Service{Name: web, ClusterIPs: vip, Ports: httpPort},
		backends: []Backend{be("10.244.0.1:8080", terminating), be("10.244.0.1:8080")},
		want:     "default/web:http/TCP [10.250.0.10:80/TCP] -> [10.244.0.1:8080]\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tb := New(node)
			if err := tb.UpsertService(tc.svc); err != nil {
				t.Fatal(err)
			}
			// Split the backends over two sources to exercise the grouping.
			half := len(tc.backends) / 2
			if err := tb.UpsertBackends(tc.svc.Name, "a", tc.backends[:half]); err != nil {
				t.Fatal(err)
			}
			if err := tb.UpsertBackends(tc.svc.Name, "b", tc.backends[half:]); err != nil {
				t.Fatal(err)
			}
			if got := summary(tb.Desired()); got != tc.want {
				t.Errorf("Desired():\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestConflictingFrontends(t *testing.T) {
	tb := New(node)
	ext := []netip.Addr{netip.MustParseAddr("10.250.254.1")}
	p := []ServicePort{{Name: "http", Protocol: TCP, Port: 80}}
	a := Service{Name: ServiceName{"a", "svc"}, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.250.0.1")}, ExternalIPs: ext, Ports: p}
	b := Service{Name: ServiceName{"b", "svc"}, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.250.0.2")}, ExternalIPs: ext, Ports: p}
	for _, s := range []Service{b, a} {
		if err := tb.UpsertService(s); err != nil {
			t.Fatal(err)
		}
	}
	want := "a/svc:http/TCP [10.250.0.1:80/TCP 10.250.254.1:80/TCP] -> []\n" +
		"b/svc:http/TCP [10.250.0.2:80/TCP] -> []\n" +
		"conflict: 10.250.254.1:80/TCP claimed by a/svc:http/TCP and b/svc:http/TCP\n"
	if got := summary(tb.Desired()); got != want {
		t.Errorf("Desired():\n%s\nwant:\n%s", got, want)
	}
}

func TestWritesSignalAndValidate(t *testing.T) {
	tb := New(node)
	if err := tb.UpsertService(Service{Name: web, Ports: []ServicePort{{Name: "a", Protocol: TCP, Port: 1}, {Name: "a", Protocol: TCP, Port: 2}}}); err == nil {
		t.Error("duplicate port names: want an error")
	}
	if err := tb.UpsertBackends(web, "s", []Backend{{Addr: netip.MustParseAddrPort("10.0.0.1:0")}}); err == nil {
		t.Error("port 0 backend: want an error")
	}
	select {
	case <-tb.Changed():
		t.Fatal("rejected writes signalled a change")
	default:
	}
	rev := tb.Revision()
	if err := tb.UpsertBackends(web, "s", []Backend{be("10.0.0.1:80")}); err != nil {
		t.Fatal(err)
	}
	tb.DeleteService(web) // not there: no change
	select {
	case <-tb.Changed():
	default:
		t.Fatal("UpsertBackends did not signal")
	}
	if tb.Revision() != rev+1 {
		t.Errorf("revision %d, want %d", tb.Revision(), rev+1)
	}
	tb.DeleteBackends(web, "s")
	if got := tb.Backends(web); len(got) != 0 {
		t.Errorf("backends after delete: %v", got)
	}
}
