//go:build linux

package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/ebpfproxy/bpf"
	"github.com/skiff-dev/skiff/ebpfproxy/maglev"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

// Reconciler programs the BPF maps from the tables.
type Reconciler struct {
	cfg     Config
	objs    *bpf.Objects
	links   []link.Link
	maps    mapSet
	builder *maglev.Builder

	mu sync.Mutex
	// cur is what the maps hold, as last read or written.
	cur state
	// dirty says cur may be wrong (a write failed): re-read before diffing.
	dirty   bool
	svcIDs  map[tables.LBKey]uint32
	svcKeys map[uint32]tables.LBKey
	beIDs   map[netip.AddrPort]uint32
	// tables caches built Maglev tables by service id.
	tables map[uint32]builtTable
	// afterStep is called after each apply step; tests check invariants.
	afterStep func(step)
	closed    bool
	adopted   Adoption
}

type builtTable struct {
	backends []netip.AddrPort
	ids      []uint32
	lut      []uint32
}

// Adoption says what New found pinned.
type Adoption struct {
	// Links is the number of pinned links given the new programs.
	Links int
	// Services and Backends count the entries found in the pinned maps.
	Services, Backends int
}

// New loads the programs, opens or creates the pinned maps, attaches (or
// adopts) the links and reads what the maps hold. The datapath keeps what
// it had until the first Sync.
func New(cfg Config) (*Reconciler, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	builder, err := maglev.New(maglev.Config{Size: cfg.MaglevTableSize, Seed: cfg.MaglevSeed})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if disabled, err := socketMatchingDisabled(); err != nil {
		cfg.Logger.V(1).Info("Cannot read the kernel log to check cgroup2 socket matching", "err", err)
	} else if disabled {
		return nil, errors.New("the kernel disabled cgroup2 socket matching (a net_cls classid or net_prio map was set; see dmesg), so socket hooks would not apply: reboot without net_cls/net_prio users")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock limit: %w", err)
	}
	mounted, err := ensureBPFFS(cfg.PinDir)
	if err != nil {
		return nil, err
	}
	if mounted {
		cfg.Logger.Info("Mounted bpffs", "dir", cfg.PinDir)
	}
	spec, err := bpf.LoadSpec(cfg.Sizes)
	if err != nil {
		return nil, err
	}
	objs, err := loadObjects(spec, cfg.PinDir)
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		cfg:     cfg,
		objs:    objs,
		builder: builder,
		maps: mapSet{services: objs.Services, backends: objs.Backends, maglev: objs.Maglev,
			match: objs.AffinityMatch, stats: objs.Stats, ext: objs.ExtServices},
		svcIDs:  map[tables.LBKey]uint32{},
		svcKeys: map[uint32]tables.LBKey{},
		beIDs:   map[netip.AddrPort]uint32{},
		tables:  map[uint32]builtTable{},
	}
	if err := r.reread(); err != nil {
		objs.Close()
		return nil, err
	}
	links, adopted, err := attachHooks(objs, cfg.PinDir, cfg.CgroupPath)
	if err != nil {
		objs.Close()
		return nil, err
	}
	r.links = links
	if len(cfg.Interfaces) > 0 || cfg.NetNS == "" {
		// With no interfaces listed, pinned TC links of earlier runs are
		// detached too (only in our own namespace, where they were made).
		tcLinks, tcAdopted, err := attachTC(objs.SkiffTcIngress, cfg.PinDir, cfg.Interfaces, cfg.NetNS)
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			objs.Close()
			return nil, err
		}
		r.links = append(r.links, tcLinks...)
		adopted += tcAdopted
	}
	r.adopted = Adoption{Links: adopted, Services: len(r.cur.services), Backends: len(r.cur.backends)}
	cfg.Logger.Info("Loaded socket load balancer", "pinDir", cfg.PinDir, "cgroup", cfg.CgroupPath, "interfaces", cfg.Interfaces,
		"adoptedLinks", adopted, "services", len(r.cur.services), "backends", len(r.cur.backends))
	return r, nil
}

// Adopted reports what the pinned maps held when New opened them.
func (r *Reconciler) Adopted() Adoption {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.adopted
}

// reread replaces cur with the kernel's maps and re-derives backend ids.
func (r *Reconciler) reread() error {
	cur, err := readState(r.maps)
	if err != nil {
		return err
	}
	r.cur = cur
	r.dirty = false
	r.beIDs = map[netip.AddrPort]uint32{}
	for _, id := range sortedKeys(cur.backends, func(a, b uint32) int { return int(a) - int(b) }) {
		if _, ok := r.beIDs[cur.backends[id]]; !ok {
			r.beIDs[cur.backends[id]] = id
		}
	}
	return nil
}

// Sync applies the tables' current Desired state, writing only what
// differs from what the maps hold.
func (r *Reconciler) Sync(ctx context.Context) (SyncStats, error) {
	return r.sync(ctx, false)
}

// Resync re-reads the maps first, so that entries changed or deleted behind
// the reconciler's back are repaired.
func (r *Reconciler) Resync(ctx context.Context) (SyncStats, error) {
	return r.sync(ctx, true)
}

func (r *Reconciler) sync(ctx context.Context, full bool) (SyncStats, error) {
	log := klog.FromContext(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return SyncStats{}, errors.New("reconciler is closed")
	}
	start := time.Now()
	if full || r.dirty {
		if err := r.reread(); err != nil {
			r.dirty = true
			r.observe(start, full, SyncStats{}, err)
			return SyncStats{}, fmt.Errorf("read maps: %w", err)
		}
	}
	desired := r.cfg.Tables.Desired()
	for _, c := range desired.Conflicts {
		log.Info("Skipping frontend claimed twice", "conflict", c)
	}
	want, newIDs, err := r.target(desired)
	if err != nil {
		r.observe(start, full, SyncStats{}, err)
		return SyncStats{}, err
	}
	st, err := apply(r.maps, r.cur, want, newIDs, r.afterStep)
	if err != nil {
		r.dirty = true
		r.observe(start, full, st, err)
		return st, fmt.Errorf("apply: %w", err)
	}
	r.cur = want
	r.forgetUnused(want)
	r.observe(start, full, st, nil)
	log.V(1).Info("Synced BPF maps", "full", full, "services", len(desired.Services),
		"changes", st.Changes(), "duration", time.Since(start))
	return st, nil
}

func (r *Reconciler) observe(start time.Time, full bool, st SyncStats, err error) {
	if r.cfg.Observer == nil {
		return
	}
	r.cfg.Observer.Synced(start, time.Since(start), full, st, len(r.cur.serviceIDs()), len(r.cur.backends), err)
}

// ServiceCounters are one load-balancing unit's datapath counters.
type ServiceCounters struct {
	Key tables.LBKey
	ID  uint32
	// Translated counts connections (sockets, and flows on the TC path)
	// sent to a backend; Refused those refused or dropped for want of one.
	Translated, Refused uint64
}

// Counters reads the per-CPU stats map for every programmed unit.
func (r *Reconciler) Counters() ([]ServiceCounters, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("reconciler is closed")
	}
	out := make([]ServiceCounters, 0, len(r.svcIDs))
	for key, id := range r.svcIDs {
		sum, err := sumStats(r.maps.stats, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ServiceCounters{Key: key, ID: id, Translated: sum.Translated, Refused: sum.Refused})
	}
	slices.SortFunc(out, func(a, b ServiceCounters) int { return tables.CompareLBKey(a.Key, b.Key) })
	return out, nil
}

// target computes the map contents for desired, taking ids as needed.
func (r *Reconciler) target(desired tables.Desired) (state, []uint32, error) {
	want := newState()
	usedSvc := r.cur.serviceIDs()
	for _, id := range r.svcIDs {
		usedSvc[id] = true
	}
	usedBe := map[uint32]bool{}
	for id := range r.cur.backends {
		usedBe[id] = true
	}
	for _, id := range r.beIDs {
		usedBe[id] = true
	}
	claimed := map[uint32]bool{}
	var newIDs []uint32
	svcAlloc := newIDAllocator(usedSvc, r.objs.Services.MaxEntries())
	beAlloc := newIDAllocator(usedBe, r.objs.Backends.MaxEntries())

	for _, lb := range desired.Services {
		id, ok := r.svcIDs[lb.Key]
		if ok && claimed[id] {
			ok = false
		}
		if !ok {
			// After a restart, the pinned frontends say which id this
			// service had: keep it, so its table and affinity carry over.
			for _, f := range lb.Frontends {
				fk := frontendKey(f.Addr, uint8(f.Protocol))
				v, found := r.cur.services[fk].Id, false
				if lb.Key.Scope == tables.ScopeNodeLocal {
					var ev bpf.ExtValue
					ev, found = r.cur.ext[fk]
					v = ev.Id
				} else {
					_, found = r.cur.services[fk]
				}
				if found && !claimed[v] && !r.idOwnedByOther(v, lb.Key) {
					id, ok = v, true
					break
				}
			}
		}
		if !ok {
			var err error
			if id, err = svcAlloc.take(); err != nil {
				return want, nil, fmt.Errorf("service ids: %w", err)
			}
			newIDs = append(newIDs, id)
		}
		if old, had := r.svcIDs[lb.Key]; had && old != id && r.svcKeys[old] == lb.Key {
			delete(r.svcKeys, old)
		}
		r.svcIDs[lb.Key] = id
		r.svcKeys[id] = lb.Key
		claimed[id] = true

		ids, err := r.backendIDs(lb.Backends, want, beAlloc)
		if err != nil {
			return want, nil, err
		}
		val := bpf.ServiceValue{Id: id, Count: uint32(len(ids))}
		if lb.AffinityTimeout > 0 {
			val.AffinityTimeout = uint32(max(1, lb.AffinityTimeout/time.Second))
			for _, bid := range ids {
				want.match[bpf.AffinityMatchKey{SvcId: id, BackendId: bid}] = struct{}{}
			}
		}
		if len(ids) > 0 {
			lut, err := r.lut(id, lb.Backends, ids)
			if err != nil {
				return want, nil, fmt.Errorf("maglev table for %s: %w", lb.Key, err)
			}
			want.luts[id] = lut
			val.LutSize = uint32(len(lut))
		}
		for _, f := range lb.Frontends {
			fk := frontendKey(f.Addr, uint8(f.Protocol))
			if lb.Key.Scope != tables.ScopeNodeLocal {
				want.services[fk] = val
			}
			// The TC path serves IPv4 external frontends to other hosts.
			if f.Type == tables.ClusterIP || lb.Key.Family != tables.IPv4 {
				continue
			}
			ev := bpf.ExtValue{Id: id, Count: val.Count, LutSize: val.LutSize}
			switch {
			case lb.Key.Scope == tables.ScopeNodeLocal:
			case lb.SNAT:
				snat, ok := desired.Node.SNATAddr(lb.Key.Family)
				if !ok {
					continue // no node address to masquerade to
				}
				ev.Flags = bpf.ExtFlagSNAT
				ev.Snat.W = bpf.Addr(snat)
			default:
				continue // externalTrafficPolicy: Local; the node-local unit serves it
			}
			want.ext[fk] = ev
		}
	}
	return want, newIDs, nil
}

// idOwnedByOther says whether id is assigned to a different key.
func (r *Reconciler) idOwnedByOther(id uint32, key tables.LBKey) bool {
	k, ok := r.svcKeys[id]
	return ok && k != key
}

func (r *Reconciler) backendIDs(addrs []netip.AddrPort, want state, alloc *idAllocator) ([]uint32, error) {
	ids := make([]uint32, len(addrs))
	for i, a := range addrs {
		id, ok := r.beIDs[a]
		if !ok {
			var err error
			if id, err = alloc.take(); err != nil {
				return nil, fmt.Errorf("backend ids: %w", err)
			}
			r.beIDs[a] = id
		}
		ids[i] = id
		want.backends[id] = a
	}
	return ids, nil
}

func (r *Reconciler) lut(svcID uint32, addrs []netip.AddrPort, ids []uint32) ([]uint32, error) {
	if t, ok := r.tables[svcID]; ok && slices.Equal(t.backends, addrs) && slices.Equal(t.ids, ids) {
		return t.lut, nil
	}
	bs := make([]maglev.Backend, len(addrs))
	for i, a := range addrs {
		bs[i] = maglev.Backend{Name: a.String()}
	}
	table, err := r.builder.Build(bs)
	if err != nil {
		return nil, err
	}
	lut := make([]uint32, len(table))
	for i, b := range table {
		lut[i] = ids[b]
	}
	r.tables[svcID] = builtTable{backends: slices.Clone(addrs), ids: slices.Clone(ids), lut: lut}
	return lut, nil
}

// forgetUnused drops ids and cached tables the maps no longer use.
func (r *Reconciler) forgetUnused(want state) {
	live := want.serviceIDs()
	for k, id := range r.svcIDs {
		if !live[id] || r.svcKeys[id] != k {
			delete(r.svcIDs, k)
		}
	}
	for id := range r.svcKeys {
		if !live[id] {
			delete(r.svcKeys, id)
		}
	}
	for id := range r.tables {
		if _, ok := want.luts[id]; !ok {
			delete(r.tables, id)
		}
	}
	for a, id := range r.beIDs {
		if want.backends[id] != a {
			delete(r.beIDs, a)
		}
	}
}

// idAllocator hands out the lowest ids in [1, limit) not in used; one
// allocator serves one sync, so the scan is linear overall.
type idAllocator struct {
	used        map[uint32]bool
	next, limit uint32
}

func newIDAllocator(used map[uint32]bool, limit uint32) *idAllocator {
	return &idAllocator{used: used, next: 1, limit: limit}
}

func (a *idAllocator) take() (uint32, error) {
	for ; a.next < a.limit; a.next++ {
		if !a.used[a.next] {
			id := a.next
			a.used[id] = true
			a.next++
			return id, nil
		}
	}
	return 0, fmt.Errorf("all %d ids in use", a.limit-1)
}

// Start syncs whenever the tables change, re-reads the maps every
// ResyncPeriod, and retries failed syncs with exponential backoff, until
// ctx ends. It returns nil when ctx ends.
func (r *Reconciler) Start(ctx context.Context) error {
	log := klog.FromContext(ctx)
	resync := time.NewTicker(r.cfg.ResyncPeriod)
	defer resync.Stop()
	retry := time.NewTimer(0) // the initial sync
	defer retry.Stop()
	backoff := r.cfg.RetryMin
	full := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.cfg.Tables.Changed():
		case <-resync.C:
			full = true
		case <-retry.C:
		}
		if _, err := r.sync(ctx, full); err != nil {
			log.Error(err, "Sync of BPF maps failed; retrying", "after", backoff)
			retry.Reset(backoff)
			backoff = min(2*backoff, r.cfg.RetryMax)
			continue
		}
		full = false
		backoff = r.cfg.RetryMin
	}
}

// Dump reads the maps and describes them.
func (r *Reconciler) Dump() (*Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return snapshot(r.maps)
}

// Close releases the programs, maps and links held by this process. Pinned
// maps and links stay, so the datapath keeps working and a new Reconciler
// adopts them.
func (r *Reconciler) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for _, l := range r.links {
		errs = append(errs, l.Close())
	}
	errs = append(errs, r.objs.Close())
	return errors.Join(errs...)
}

// Uninstall detaches the hooks and removes every pin, then closes. The
// datapath stops translating; connections already made are unaffected.
func (r *Reconciler) Uninstall() error {
	r.mu.Lock()
	var errs []error
	if !r.closed {
		for _, l := range r.links {
			errs = append(errs, l.Unpin())
		}
		for _, m := range []*ebpf.Map{r.objs.Services, r.objs.Backends, r.objs.Maglev, r.objs.Affinity,
			r.objs.AffinityMatch, r.objs.Revnat, r.objs.Stats, r.objs.ExtServices, r.objs.CtFwd, r.objs.CtRev} {
			errs = append(errs, m.Unpin())
		}
	}
	r.mu.Unlock()
	errs = append(errs, r.Close())
	for _, d := range []string{linksDir(r.cfg.PinDir), mapsDir(r.cfg.PinDir)} {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
