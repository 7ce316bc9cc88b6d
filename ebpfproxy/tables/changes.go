package tables

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// The tables keep every service's load-balancing units computed: a write
// rebuilds the units of the one service it touches (and of the services
// whose frontends it takes or gives up), so reading what changed costs what
// changed, not what is stored.

// unitRef names one unit: the index of a unit in built[svc].
type unitRef struct {
	svc ServiceName
	idx int
}

// claimKey is a frontend as conflicts are checked: node-local units hold
// TC-only copies of external frontends, so they are checked among
// themselves.
type claimKey struct {
	addr  netip.AddrPort
	proto Protocol
	tc    bool
}

func claimKeyOf(lb LBService, f Frontend) claimKey {
	return claimKey{addr: f.Addr, proto: f.Protocol, tc: lb.Key.Scope == ScopeNodeLocal}
}

// compareRef orders claims as Desired resolves them: the first service in
// name order, then its first unit, keeps a frontend.
func compareRef(a, b unitRef) int {
	if c := compareName(a.svc, b.svc); c != 0 {
		return c
	}
	return a.idx - b.idx
}

// ChangeTracker is one reader's view of which services changed. Each
// tracker sees every write; Next hands over what changed since the last
// call.
type ChangeTracker struct {
	t     *Tables
	dirty map[ServiceName]struct{}
	all   bool
}

// Changes is what changed for one tracker.
type Changes struct {
	// All says Services holds every service with units: the first Next,
	// after the node changed, or when the reader asked for everything.
	// Services not in it have none.
	All bool
	// Services maps each changed service to its units now, sorted by key;
	// a service without units (deleted, headless, or every frontend lost
	// to another service) maps to nil. The slices are shared: read only.
	Services map[ServiceName][]LBService
	// Conflicts lists the frontends the changed services claim but another
	// service keeps.
	Conflicts []string
	// Node is the node the units were computed for.
	Node Node
	// ClusterNodeAddresses are every node's addresses (see
	// Tables.SetClusterNodeAddresses), sorted.
	ClusterNodeAddresses []netip.Addr
	// Revision is the tables' revision the changes bring the reader to.
	Revision uint64
}

// Track returns a tracker whose first Next reports every service.
func (t *Tables) Track() *ChangeTracker {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := &ChangeTracker{t: t, dirty: map[ServiceName]struct{}{}, all: true}
	t.trackers = append(t.trackers, c)
	return c
}

// Close stops the tracker; the tables no longer record changes for it.
func (c *ChangeTracker) Close() {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.trackers = slices.DeleteFunc(t.trackers, func(o *ChangeTracker) bool { return o == c })
}

// Next returns the services changed since the last call; with all, or on
// the first call, every service.
func (c *ChangeTracker) Next(all bool) Changes {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := Changes{All: all || c.all, Node: t.node, Revision: t.revision}
	ch.Node.Addresses = slices.Clone(t.node.Addresses)
	ch.ClusterNodeAddresses = slices.Clone(t.nodeAddrs)
	if ch.All {
		ch.Services = make(map[ServiceName][]LBService, len(t.units))
		for n, u := range t.units {
			ch.Services[n] = u
		}
		for _, n := range slices.SortedFunc(maps.Keys(t.conflicts), compareName) {
			ch.Conflicts = append(ch.Conflicts, t.conflicts[n]...)
		}
	} else {
		ch.Services = make(map[ServiceName][]LBService, len(c.dirty))
		for n := range c.dirty {
			ch.Services[n] = t.units[n]
			ch.Conflicts = append(ch.Conflicts, t.conflicts[n]...)
		}
	}
	c.all = false
	clear(c.dirty)
	return ch
}

// markAll tells every tracker that everything may have changed.
func (t *Tables) markAll() {
	for _, c := range t.trackers {
		c.all = true
		clear(c.dirty)
	}
}

func (t *Tables) mark(names map[ServiceName]struct{}) {
	for _, c := range t.trackers {
		if c.all {
			continue
		}
		for n := range names {
			c.dirty[n] = struct{}{}
		}
	}
}

// rebuildAll recomputes every service, as a node change requires.
func (t *Tables) rebuildAll() {
	clear(t.built)
	clear(t.claims)
	clear(t.units)
	clear(t.conflicts)
	for n, svc := range t.services {
		built := buildLBServices(svc, t.allBackends(n), t.node)
		if len(built) > 0 {
			t.built[n] = built
		}
		for i, lb := range built {
			for _, f := range lb.Frontends {
				k := claimKeyOf(lb, f)
				t.claims[k] = append(t.claims[k], unitRef{n, i})
			}
		}
	}
	for n := range t.built {
		t.effective(n)
	}
	t.markAll()
}

// rebuild recomputes one service's units after a write to it, and the
// units of every service that claims one of the frontends it claimed or
// claims now (their owner may have changed), and marks them all changed.
func (t *Tables) rebuild(name ServiceName) {
	affected := map[ServiceName]struct{}{name: {}}
	var touched []claimKey
	for i, lb := range t.built[name] {
		for _, f := range lb.Frontends {
			k := claimKeyOf(lb, f)
			t.unclaim(k, unitRef{name, i})
			touched = append(touched, k)
		}
	}
	var built []LBService
	if svc, ok := t.services[name]; ok {
		built = buildLBServices(svc, t.allBackends(name), t.node)
	}
	if len(built) > 0 {
		t.built[name] = built
	} else {
		delete(t.built, name)
	}
	for i, lb := range built {
		for _, f := range lb.Frontends {
			k := claimKeyOf(lb, f)
			t.claims[k] = append(t.claims[k], unitRef{name, i})
			touched = append(touched, k)
		}
	}
	for _, k := range touched {
		for _, c := range t.claims[k] {
			affected[c.svc] = struct{}{}
		}
	}
	for n := range affected {
		t.effective(n)
	}
	t.mark(affected)
}

func (t *Tables) unclaim(k claimKey, ref unitRef) {
	cs := t.claims[k]
	if i := slices.Index(cs, ref); i >= 0 {
		cs = slices.Delete(cs, i, i+1)
	}
	if len(cs) == 0 {
		delete(t.claims, k)
	} else {
		t.claims[k] = cs
	}
}

func (t *Tables) owner(k claimKey) unitRef {
	return slices.MinFunc(t.claims[k], compareRef)
}

// effective recomputes a service's units as the datapath gets them: each
// keeps the frontends it owns, and a unit left without any is dropped.
func (t *Tables) effective(name ServiceName) {
	built := t.built[name]
	var units []LBService
	var conflicts []string
	for i, lb := range built {
		me := unitRef{name, i}
		var kept []Frontend
		for _, f := range lb.Frontends {
			k := claimKeyOf(lb, f)
			own := t.owner(k)
			if own == me {
				// A unit listing a frontend twice keeps the first.
				if slices.ContainsFunc(kept, func(g Frontend) bool { return g.Addr == f.Addr && g.Protocol == f.Protocol }) {
					conflicts = append(conflicts, fmt.Sprintf("%s claimed by %s and %s", f, lb.Key, lb.Key))
					continue
				}
				kept = append(kept, f)
				continue
			}
			conflicts = append(conflicts, fmt.Sprintf("%s claimed by %s and %s", f, t.built[own.svc][own.idx].Key, lb.Key))
		}
		if len(kept) > 0 {
			lb.Frontends = kept
			units = append(units, lb)
		}
	}
	slices.SortFunc(units, func(a, b LBService) int { return CompareLBKey(a.Key, b.Key) })
	if len(units) > 0 {
		t.units[name] = units
	} else {
		delete(t.units, name)
	}
	if len(conflicts) > 0 {
		t.conflicts[name] = conflicts
	} else {
		delete(t.conflicts, name)
	}
}

// allBackends lists what every source reported for a service, sources in
// name order, so that which copy of an endpoint two sources both report
// is kept does not depend on map order.
func (t *Tables) allBackends(name ServiceName) []Backend {
	var all []Backend
	for _, src := range slices.Sorted(maps.Keys(t.backends[name])) {
		all = append(all, t.backends[name][src]...)
	}
	return all
}
