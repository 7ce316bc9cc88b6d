package tables

import (
	"net/netip"
	"testing"
)

func TestHealthChecks(t *testing.T) {
	local := func(name string, hc uint16) Service {
		return Service{Name: ServiceName{"default", name}, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.250.0.60")},
			ExternalTrafficPolicy: PolicyLocal, HealthCheckNodePort: hc,
			Ports: []ServicePort{{Name: "http", Protocol: TCP, Port: 80, NodePort: 30060}}}
	}
	for _, tc := range []struct {
		name     string
		svc      Service
		backends []Backend
		want     []HealthCheck
	}{
		{"local ready endpoints counted once per address", local("a", 32100),
			[]Backend{be("10.244.1.1:8080", onNode1), be("10.244.1.1:8080", onNode1), be("10.244.1.2:8080", onNode1), be("10.244.2.1:8080")},
			[]HealthCheck{{Service: ServiceName{"default", "a"}, Port: 32100, LocalEndpoints: 2}}},
		{"terminating and remote endpoints do not count", local("b", 32101),
			[]Backend{be("10.244.1.1:8080", onNode1, terminating), be("10.244.2.1:8080")},
			[]HealthCheck{{Service: ServiceName{"default", "b"}, Port: 32101, LocalEndpoints: 0}}},
		{"no healthCheckNodePort", local("c", 0), []Backend{be("10.244.1.1:8080", onNode1)}, nil},
		{"Cluster policy has none", func() Service { s := local("d", 32102); s.ExternalTrafficPolicy = PolicyCluster; return s }(),
			[]Backend{be("10.244.1.1:8080", onNode1)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := New(node)
			if err := tb.UpsertService(tc.svc); err != nil {
				t.Fatal(err)
			}
			if err := tb.UpsertBackends(tc.svc.Name, "s", tc.backends); err != nil {
				t.Fatal(err)
			}
			got := tb.HealthChecks()
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %+v, want %+v", got[i], tc.want[i])
				}
			}
		})
	}
}

// TestExternalPolicyUnits checks the units the TC path gets: Cluster
// policy marks the unit with external frontends for SNAT; Local adds a
// node-local unit with only this node's endpoints and no SNAT, which does
// not conflict with the socket path's copy of the same frontends.
func TestExternalPolicyUnits(t *testing.T) {
	for _, tc := range []struct {
		etp          TrafficPolicy
		wantSNAT     bool
		wantNodeLoc  bool
		nodeLocalBEs int
	}{
		{PolicyCluster, true, false, 0},
		{PolicyLocal, false, true, 1},
	} {
		t.Run(string(tc.etp), func(t *testing.T) {
			tb := New(node)
			svc := Service{Name: web, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.250.0.61")}, ExternalTrafficPolicy: tc.etp,
				ExternalIPs: []netip.Addr{netip.MustParseAddr("10.250.253.61")},
				Ports:       []ServicePort{{Name: "http", Protocol: TCP, Port: 80, NodePort: 30061}}}
			if err := tb.UpsertService(svc); err != nil {
				t.Fatal(err)
			}
			if err := tb.UpsertBackends(web, "s", []Backend{be("10.244.1.1:8080", onNode1), be("10.244.2.1:8080")}); err != nil {
				t.Fatal(err)
			}
			d := tb.Desired()
			if len(d.Conflicts) != 0 {
				t.Errorf("conflicts: %v", d.Conflicts)
			}
			var sawNodeLocal bool
			for _, s := range d.Services {
				switch s.Key.Scope {
				case ScopeNodeLocal:
					sawNodeLocal = true
					if s.SNAT || len(s.Backends) != tc.nodeLocalBEs || len(s.Frontends) != 2 {
						t.Errorf("node-local unit %+v", s)
					}
				case ScopeInternal:
					if s.SNAT != tc.wantSNAT || len(s.Backends) != 2 {
						t.Errorf("internal unit SNAT=%v backends=%v, want SNAT=%v and both backends", s.SNAT, s.Backends, tc.wantSNAT)
					}
				}
			}
			if sawNodeLocal != tc.wantNodeLoc {
				t.Errorf("node-local unit present = %v, want %v:\n%s", sawNodeLocal, tc.wantNodeLoc, summary(d))
			}
			if a, ok := d.Node.SNATAddr(IPv4); !ok || a != node.Addresses[0] {
				t.Errorf("SNATAddr(IPv4) = %v %v", a, ok)
			}
		})
	}
}
