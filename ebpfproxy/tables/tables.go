package tables

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
)

// Tables is the desired state. Its methods are safe for concurrent use.
type Tables struct {
	mu   sync.Mutex
	node Node
	// nodeAddrs are the addresses of every node of the cluster, which pod
	// egress is not masqueraded to.
	nodeAddrs []netip.Addr
	services  map[ServiceName]Service
	// backends are grouped per service by source (an EndpointSlice name), so
	// one slice can be replaced or deleted without touching the others.
	backends map[ServiceName]map[string][]Backend
	revision uint64
	changed  chan struct{}
	hooks    []func()

	// built holds each service's units as buildLBServices makes them,
	// claims who claims each frontend, units the units the datapath gets
	// (conflicts resolved) and conflicts the frontends each service lost;
	// see changes.go.
	built     map[ServiceName][]LBService
	claims    map[claimKey][]unitRef
	units     map[ServiceName][]LBService
	conflicts map[ServiceName][]string
	trackers  []*ChangeTracker
	// checked are the services with a healthCheckNodePort to answer.
	checked map[ServiceName]struct{}
}

// New returns empty tables for the given node.
func New(node Node) *Tables {
	return &Tables{
		node:     node,
		services: map[ServiceName]Service{},
		backends: map[ServiceName]map[string][]Backend{},
		changed:  make(chan struct{}, 1),

		built:     map[ServiceName][]LBService{},
		claims:    map[claimKey][]unitRef{},
		units:     map[ServiceName][]LBService{},
		conflicts: map[ServiceName][]string{},
		checked:   map[ServiceName]struct{}{},
	}
}

// Changed receives a value after any write; writes coalesce, so a reader
// takes a fresh Desired snapshot each time.
func (t *Tables) Changed() <-chan struct{} { return t.changed }

// Revision counts writes; it lets a reader tell whether it has seen the
// latest state.
func (t *Tables) Revision() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.revision
}

// OnChange registers f to be called after every write, with the tables
// locked: f must be quick and must not call back into the tables (signal a
// goroutine instead). Unlike Changed, every hook sees every write.
func (t *Tables) OnChange(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hooks = append(t.hooks, f)
}

func (t *Tables) bump() {
	t.revision++
	for _, f := range t.hooks {
		f()
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// SetNode replaces the node's identity and addresses; setting the same
// node again changes nothing.
func (t *Tables) SetNode(n Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Node updates are frequent (status heartbeats) and rarely change what
	// the proxy uses; an unchanged node must not recompute every service.
	if n.Name == t.node.Name && n.Zone == t.node.Zone && slices.Equal(n.Addresses, t.node.Addresses) {
		return
	}
	t.node = n
	t.node.Addresses = slices.Clone(n.Addresses)
	t.rebuildAll()
	t.bump()
}

// SetClusterNodeAddresses replaces the addresses of the cluster's nodes
// (this one included), the destinations the egress masquerade leaves alone.
// It changes no service.
func (t *Tables) SetClusterNodeAddresses(addrs []netip.Addr) {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.Equal(addrs, t.nodeAddrs) {
		return
	}
	t.nodeAddrs = addrs
	t.bump()
}

// ClusterNodeAddresses returns what SetClusterNodeAddresses last set, sorted.
func (t *Tables) ClusterNodeAddresses() []netip.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.nodeAddrs)
}

// UpsertService adds or replaces a service. It rejects a service that
// could not come from a valid Kubernetes Service (duplicate or zero ports,
// mixed address families); the API server validates, so this only guards
// against inconsistent data sources.
func (t *Tables) UpsertService(s Service) error {
	if err := validateService(s); err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.services[s.Name] = cloneService(s)
	if s.ExternalTrafficPolicy == PolicyLocal && s.HealthCheckNodePort != 0 && len(s.ClusterIPs) > 0 {
		t.checked[s.Name] = struct{}{}
	} else {
		delete(t.checked, s.Name)
	}
	t.rebuild(s.Name)
	t.bump()
	return nil
}

// DeleteService removes a service; its backends stay until their source is
// deleted, so that a recreated service finds them again.
func (t *Tables) DeleteService(name ServiceName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.services[name]; ok {
		delete(t.services, name)
		delete(t.checked, name)
		t.rebuild(name)
		t.bump()
	}
}

// UpsertBackends replaces the backends that source reported for a service.
// Backends may arrive before their service.
func (t *Tables) UpsertBackends(svc ServiceName, source string, bs []Backend) error {
	for _, b := range bs {
		if !b.Addr.IsValid() || b.Addr.Port() == 0 {
			return fmt.Errorf("backends of %s from %s: invalid address %s", svc, source, b.Addr)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.backends[svc]
	if m == nil {
		m = map[string][]Backend{}
		t.backends[svc] = m
	}
	m[source] = slices.Clone(bs)
	t.rebuild(svc)
	t.bump()
	return nil
}

// DeleteBackends removes what source reported for a service.
func (t *Tables) DeleteBackends(svc ServiceName, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.backends[svc]
	if _, ok := m[source]; !ok {
		return
	}
	delete(m, source)
	if len(m) == 0 {
		delete(t.backends, svc)
	}
	t.rebuild(svc)
	t.bump()
}

// Services returns the stored services sorted by name.
func (t *Tables) Services() []Service {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Service, 0, len(t.services))
	for _, s := range t.services {
		out = append(out, cloneService(s))
	}
	slices.SortFunc(out, func(a, b Service) int { return compareName(a.Name, b.Name) })
	return out
}

// Backends returns every stored backend of a service, sorted by source and
// then address.
func (t *Tables) Backends(svc ServiceName) []Backend {
	t.mu.Lock()
	defer t.mu.Unlock()
	sources := make([]string, 0, len(t.backends[svc]))
	for s := range t.backends[svc] {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	var out []Backend
	for _, s := range sources {
		bs := slices.Clone(t.backends[svc][s])
		slices.SortStableFunc(bs, compareBackend)
		out = append(out, bs...)
	}
	return out
}

// Desired is what the datapath should hold now, every service at once;
// a reader that syncs repeatedly should Track changes instead. The units'
// slices are shared with the tables: read only.
func (t *Tables) Desired() Desired {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := Desired{Node: t.node}
	d.Node.Addresses = slices.Clone(t.node.Addresses)
	for _, n := range slices.SortedFunc(maps.Keys(t.units), compareName) {
		d.Services = append(d.Services, t.units[n]...)
	}
	for _, n := range slices.SortedFunc(maps.Keys(t.conflicts), compareName) {
		d.Conflicts = append(d.Conflicts, t.conflicts[n]...)
	}
	return d
}

// HealthChecks lists the healthCheckNodePorts of externalTrafficPolicy:
// Local services with ClusterIPs, sorted by service, each with the number
// of distinct ready endpoints (address and port) on this node, as
// kube-proxy counts them.
func (t *Tables) HealthChecks() []HealthCheck {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []HealthCheck
	for n := range t.checked {
		svc := t.services[n]
		seen := map[netip.AddrPort]bool{}
		for _, bs := range t.backends[n] {
			for _, b := range bs {
				if b.Ready && t.node.Name != "" && b.NodeName == t.node.Name {
					seen[b.Addr] = true
				}
			}
		}
		out = append(out, HealthCheck{Service: n, Port: svc.HealthCheckNodePort, LocalEndpoints: len(seen)})
	}
	slices.SortFunc(out, func(a, b HealthCheck) int { return compareName(a.Service, b.Service) })
	return out
}

// CompareLBKey orders keys by service, port name, protocol and scope.
func CompareLBKey(a, b LBKey) int {
	return cmp.Or(compareName(a.Service, b.Service), cmp.Compare(a.Port, b.Port),
		cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Family, b.Family), cmp.Compare(a.Scope, b.Scope))
}

func compareName(a, b ServiceName) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func compareBackend(a, b Backend) int {
	return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.PortName, b.PortName))
}

func validateService(s Service) error {
	if s.Name.Name == "" {
		return fmt.Errorf("no name")
	}
	seen := map[string]bool{}
	for _, p := range s.Ports {
		if p.Port == 0 {
			return fmt.Errorf("port %q is 0", p.Name)
		}
		k := p.Name + "/" + p.Protocol.String()
		if seen[k] {
			return fmt.Errorf("port %q/%s listed twice", p.Name, p.Protocol)
		}
		seen[k] = true
	}
	for _, set := range [][]netip.Addr{s.ClusterIPs, s.ExternalIPs, s.LoadBalancerIPs} {
		for _, a := range set {
			if !a.IsValid() || a.Is4In6() {
				return fmt.Errorf("invalid address %s", a)
			}
		}
	}
	return nil
}

func cloneService(s Service) Service {
	s.ClusterIPs = slices.Clone(s.ClusterIPs)
	s.ExternalIPs = slices.Clone(s.ExternalIPs)
	s.LoadBalancerIPs = slices.Clone(s.LoadBalancerIPs)
	s.Ports = slices.Clone(s.Ports)
	return s
}
