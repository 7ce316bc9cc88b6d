package tables

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func names(ch Changes) []string {
	var out []string
	for n := range ch.Services {
		out = append(out, n.String())
	}
	slices.Sort(out)
	return out
}

// TestTrackerReportsChangedServices checks that a reader hears about the
// services a write changed and no others.
func TestTrackerReportsChangedServices(t *testing.T) {
	tb := New(node)
	svc := func(name, vip string, ext ...string) Service {
		s := Service{Name: ServiceName{"default", name}, ClusterIPs: []netip.Addr{netip.MustParseAddr(vip)},
			Ports: []ServicePort{{Name: "http", Protocol: TCP, Port: 80}}}
		for _, e := range ext {
			s.ExternalIPs = append(s.ExternalIPs, netip.MustParseAddr(e))
		}
		return s
	}
	for i := range 20 {
		if err := tb.UpsertService(svc(fmt.Sprintf("s%02d", i), fmt.Sprintf("10.250.1.%d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	tr := tb.Track()
	if ch := tr.Next(false); !ch.All || len(ch.Services) != 20 {
		t.Fatalf("first Next: All=%v with %d services, want all 20", ch.All, len(ch.Services))
	}
	if ch := tr.Next(false); ch.All || len(ch.Services) != 0 {
		t.Fatalf("Next without writes: %v", names(ch))
	}

	s07 := ServiceName{"default", "s07"}
	if err := tb.UpsertBackends(s07, "a", []Backend{be("10.244.0.1:8080")}); err != nil {
		t.Fatal(err)
	}
	ch := tr.Next(false)
	if got := names(ch); !slices.Equal(got, []string{"default/s07"}) {
		t.Fatalf("after one service's backends changed: %v", got)
	}
	if u := ch.Services[s07]; len(u) != 1 || len(u[0].Backends) != 1 {
		t.Errorf("units of s07: %+v", u)
	}

	// b claims a's external IP: b is told, and keeps nothing of it; then a
	// gives it up and b, never written to, is told it has it now.
	a := svc("a", "10.250.2.1", "10.250.254.9")
	b := svc("b", "10.250.2.2", "10.250.254.9")
	tb.UpsertService(a)
	tb.UpsertService(b)
	ch = tr.Next(false)
	if got := names(ch); !slices.Equal(got, []string{"default/a", "default/b"}) {
		t.Fatalf("after two upserts: %v", got)
	}
	if len(ch.Conflicts) != 1 || len(ch.Services[b.Name][0].Frontends) != 1 {
		t.Errorf("b should lose the external IP: conflicts %v, units %+v", ch.Conflicts, ch.Services[b.Name])
	}
	a.ExternalIPs = nil
	tb.UpsertService(a)
	ch = tr.Next(false)
	if got := names(ch); !slices.Equal(got, []string{"default/a", "default/b"}) {
		t.Fatalf("after a released the external IP: %v", got)
	}
	if len(ch.Conflicts) != 0 || len(ch.Services[b.Name][0].Frontends) != 2 {
		t.Errorf("b should own the external IP now: conflicts %v, units %+v", ch.Conflicts, ch.Services[b.Name])
	}

	tb.DeleteService(s07)
	if ch := tr.Next(false); !slices.Equal(names(ch), []string{"default/s07"}) || ch.Services[s07] != nil {
		t.Errorf("after delete: %v, units %v", names(ch), ch.Services[s07])
	}
	tb.SetNode(Node{Name: "n2"})
	if ch := tr.Next(false); !ch.All || len(ch.Services) != 21 {
		t.Errorf("after SetNode: All=%v with %d services, want all 21", ch.All, len(ch.Services))
	}
	tb.SetNode(Node{Name: "n2"}) // a heartbeat: the same node again
	if ch := tr.Next(false); ch.All || len(ch.Services) != 0 {
		t.Errorf("after setting the same node: All=%v with %d services, want nothing", ch.All, len(ch.Services))
	}
	if ch := tr.Next(true); !ch.All || len(ch.Services) != 21 {
		t.Errorf("Next(true): All=%v with %d services", ch.All, len(ch.Services))
	}
	tr.Close()
	if len(tb.trackers) != 0 {
		t.Errorf("%d trackers left after Close", len(tb.trackers))
	}
}

// referenceDesired computes Desired from scratch the way the tables did
// before they kept units computed: every service in name order, first
// claim of a frontend wins.
func referenceDesired(tb *Tables) Desired {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var ns []ServiceName
	for n := range tb.services {
		ns = append(ns, n)
	}
	slices.SortFunc(ns, compareName)
	d := Desired{Node: tb.node}
	owner, ownerTC := map[Frontend]LBKey{}, map[Frontend]LBKey{}
	for _, n := range ns {
		for _, lb := range buildLBServices(tb.services[n], tb.allBackends(n), tb.node) {
			var kept []Frontend
			for _, f := range lb.Frontends {
				fk := Frontend{Addr: f.Addr, Protocol: f.Protocol}
				owners := owner
				if lb.Key.Scope == ScopeNodeLocal {
					owners = ownerTC
				}
				if prev, taken := owners[fk]; taken {
					d.Conflicts = append(d.Conflicts, fmt.Sprintf("%s claimed by %s and %s", f, prev, lb.Key))
					continue
				}
				owners[fk] = lb.Key
				kept = append(kept, f)
			}
			lb.Frontends = kept
			if len(kept) > 0 {
				d.Services = append(d.Services, lb)
			}
		}
	}
	slices.SortFunc(d.Services, func(a, b LBService) int { return CompareLBKey(a.Key, b.Key) })
	return d
}

// TestIncrementalMatchesReference applies random writes (services sharing
// external IPs and NodePorts, backends coming and going, node changes) and
// checks after each that the kept units equal a from-scratch computation.
func TestIncrementalMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tb := New(node)
	tr := tb.Track()
	ext := []netip.Addr{netip.MustParseAddr("10.250.254.1"), netip.MustParseAddr("10.250.254.2")}
	for step := range 2000 {
		name := ServiceName{"ns", fmt.Sprintf("s%d", rng.IntN(12))}
		switch rng.IntN(6) {
		case 0, 1:
			s := Service{Name: name, ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 250, 3, byte(rng.IntN(8) + 1)})},
				Ports: []ServicePort{{Name: "http", Protocol: TCP, Port: 80, NodePort: uint16(30000 + rng.IntN(3))}}}
			if rng.IntN(2) == 0 {
				s.ExternalIPs = ext[:rng.IntN(3)]
			}
			if rng.IntN(3) == 0 {
				s.ExternalTrafficPolicy = PolicyLocal
			}
			if rng.IntN(3) == 0 {
				s.InternalTrafficPolicy = PolicyLocal
			}
			if err := tb.UpsertService(s); err != nil {
				t.Fatal(err)
			}
		case 2:
			tb.DeleteService(name)
		case 3, 4:
			var bs []Backend
			for range rng.IntN(4) {
				b := be(fmt.Sprintf("10.244.0.%d:8080", rng.IntN(6)+1))
				if rng.IntN(2) == 0 {
					onNode1(&b)
				}
				bs = append(bs, b)
			}
			if err := tb.UpsertBackends(name, fmt.Sprintf("slice-%d", rng.IntN(2)), bs); err != nil {
				t.Fatal(err)
			}
		case 5:
			if rng.IntN(10) == 0 {
				n := node
				n.Addresses = n.Addresses[:rng.IntN(3)]
				tb.SetNode(n)
			} else {
				tb.DeleteBackends(name, fmt.Sprintf("slice-%d", rng.IntN(2)))
			}
		}
		got, want := summary(tb.Desired()), summary(referenceDesired(tb))
		if got != want {
			t.Fatalf("step %d: Desired:\n%s\nwant:\n%s", step, got, want)
		}
		// Whatever the tracker reports is current.
		ch := tr.Next(false)
		for n, units := range ch.Services {
			if want := tb.units[n]; !slices.EqualFunc(units, want, func(a, b LBService) bool { return a.Key == b.Key }) {
				t.Fatalf("step %d: tracker reports %v for %s, tables hold %v", step, units, n, want)
			}
		}
	}
}
