//go:build linux

package reconciler

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	dirty bool
	// rebuild says every unit must be recomputed from all of the tables:
	// before the first sync, and after a sync failed half way through
	// computing.
	rebuild bool
	// tracker says which services changed since the last sync.
	tracker *tables.ChangeTracker
	// ix is every unit's contribution to the maps, as last synced.
	ix      *index
	svcIDs  map[tables.LBKey]uint32
	svcKeys map[uint32]tables.LBKey
	beIDs   map[netip.AddrPort]uint32
	beAddr  map[uint32]netip.AddrPort
	svcPool *idPool
	bePool  *idPool
	// memo holds Maglev tables by backend set (see lutKey).
	memo map[string][]uint32
	// stats counts work for tests.
	stats workStats
	// afterStep is called after each apply step; tests check invariants.
	afterStep func(step)
	closed    bool
	adopted   Adoption
}

// workStats counts what syncs computed, for tests.
type workStats struct {
	unitsBuilt, tablesBuilt int
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
	// Pins of the layout before Maglev chunks are read and unpinned first
	// (see migrate.go).
	legacy, err := readLegacy(cfg.PinDir)
	if err != nil {
		return nil, fmt.Errorf("migrate old maps: %w", err)
	}
	objs, err := loadObjects(spec, cfg.PinDir)
	if err != nil {
		return nil, err
	}
	bes, err := mapBackends(objs.Backends, false)
	if err != nil {
		objs.Close()
		return nil, err
	}
	r := &Reconciler{
		cfg:     cfg,
		objs:    objs,
		builder: builder,
		maps: mapSet{services: objs.Services, backends: objs.Backends, chunks: newChunkSet(objs.MaglevChunks, false),
			bes: bes, match: objs.AffinityMatch, stats: objs.Stats, ext: objs.ExtServices},
		tracker: cfg.Tables.Track(),
		ix:      newIndex(),
		svcIDs:  map[tables.LBKey]uint32{},
		svcKeys: map[uint32]tables.LBKey{},
		beIDs:   map[netip.AddrPort]uint32{},
		beAddr:  map[uint32]netip.AddrPort{},
		svcPool: newIDPool(objs.Services.MaxEntries()),
		bePool:  newIDPool(objs.Backends.MaxEntries()),
		memo:    map[string][]uint32{},
		rebuild: true,
	}
	if legacy != nil {
		st, err := writeLegacy(r.maps, legacy)
		if err != nil {
			r.maps.chunks.close()
			r.maps.bes.close()
			objs.Close()
			return nil, fmt.Errorf("migrate old maps: %w", err)
		}
		cfg.Logger.Info("Migrated maps of the layout before Maglev chunks", "frontends", st.ServicesWritten,
			"external", st.ExtWritten, "tables", st.TablesWritten)
	}
	if err := r.reread(true); err != nil {
		r.maps.chunks.close()
		r.maps.bes.close()
		objs.Close()
		return nil, err
	}
	links, adopted, err := attachHooks(objs, cfg.PinDir, cfg.CgroupPath)
	if err != nil {
		r.maps.chunks.close()
		r.maps.bes.close()
		objs.Close()
		return nil, err
	}
	r.links = links
	if len(cfg.Interfaces) > 0 || cfg.NetNS == "" {
		// With no interfaces listed, pinned TC links of earlier runs are
		// detached too (only in our own namespace, where they were made).
		tcLinks, tcAdopted, err := attachTC(objs.SkiffTcIngress, tcIngress, cfg.PinDir, cfg.Interfaces, cfg.NetNS)
		if err != nil {
			for _, l := range r.links {
				l.Close()
			}
			r.maps.chunks.close()
			r.maps.bes.close()
			objs.Close()
			return nil, err
		}
		r.links = append(r.links, tcLinks...)
		adopted += tcAdopted
		// Likewise the masquerade's egress links, kept only while
		// cluster CIDRs are set.
		egLinks, egAdopted, err := attachTC(objs.SkiffTcEgress, tcEgress, cfg.PinDir, cfg.masqueradeIfaces(), cfg.NetNS)
		if err != nil {
			for _, l := range r.links {
				l.Close()
			}
			r.maps.chunks.close()
			r.maps.bes.close()
			objs.Close()
			return nil, err
		}
		r.links = append(r.links, egLinks...)
		adopted += egAdopted
	}
	r.adopted = Adoption{Links: adopted, Services: len(r.cur.services), Backends: len(r.cur.backends)}
	cfg.Logger.Info("Loaded socket load balancer", "pinDir", cfg.PinDir, "cgroup", cfg.CgroupPath, "interfaces", cfg.Interfaces,
		"clusterCIDRs", cfg.ClusterCIDRs,
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
// Maglev tables where cur says, in chunks as they were mapped, are not
// read again.
func (r *Reconciler) reread(adopt bool) error {
	cur, err := readState(r.maps, r.cur.luts, r.cur.locs)
	if err != nil {
		return err
	}
	r.cur = cur
	r.dirty = false
	if !adopt {
		return nil
	}
	// Before the first sync, the pinned backends say which id each
	// address has (the lowest, should one be there twice).
	r.beIDs = make(map[netip.AddrPort]uint32, len(cur.backends))
	for id, a := range cur.backends {
		if have, ok := r.beIDs[a]; !ok || id < have {
			r.beIDs[a] = id
		}
	}
	r.beAddr = make(map[uint32]netip.AddrPort, len(r.beIDs))
	for a, id := range r.beIDs {
		r.beAddr[id] = a
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
	var changes tables.Changes
	var st SyncStats
	var err error
	if r.dirty || r.rebuild {
		// The record of what was written may be wrong (a write failed) or
		// not be there yet: compare everything with what the maps hold.
		if err := r.reread(r.rebuild); err != nil {
			r.dirty = true
			r.observe(start, full, SyncStats{}, err)
			return SyncStats{}, fmt.Errorf("read maps: %w", err)
		}
		changes = r.tracker.Next(r.rebuild)
		if changes.All {
			st, err = r.syncAll(changes)
		} else {
			st, err = r.syncChanged(changes, true)
		}
	} else {
		// The record is trusted: only the changed services are looked at,
		// and a full sync then compares the maps with the record.
		changes = r.tracker.Next(false)
		if changes.All {
			st, err = r.syncAll(changes)
		} else {
			st, err = r.syncChanged(changes, false)
		}
		if err == nil && full {
			var rep SyncStats
			rep, err = r.repairDrift()
			st.add(rep)
		}
	}
	for _, c := range changes.Conflicts {
		log.Info("Skipping frontend claimed twice", "conflict", c)
	}
	if merr := r.syncMasq(changes); merr != nil {
		err = errors.Join(err, applyError{fmt.Errorf("masquerade: %w", merr)})
	}
	if err != nil {
		// The next sync re-reads the maps (every table too) and, unless
		// only writing failed, recomputes every unit.
		r.dirty = true
		var ae applyError
		if !errors.As(err, &ae) {
			r.rebuild = true
		}
		r.observe(start, full, st, err)
		return st, err
	}
	r.rebuild = false
	r.observe(start, full, st, nil)
	log.V(1).Info("Synced BPF maps", "full", full, "all", changes.All, "changedServices", len(changes.Services),
		"changes", st.Changes(), "duration", time.Since(start))
	return st, nil
}

// applyError is a failure to write the maps; the computed state is sound.
type applyError struct{ err error }

func (e applyError) Error() string { return "apply: " + e.err.Error() }
func (e applyError) Unwrap() error { return e.err }

// snatAddrs are the node's masquerading sources by family.
func snatAddrs(n tables.Node) map[tables.Family]netip.Addr {
	out := map[tables.Family]netip.Addr{}
	for _, fam := range []tables.Family{tables.IPv4, tables.IPv6} {
		if a, ok := n.SNATAddr(fam); ok {
			out[fam] = a
		}
	}
	return out
}

// syncAll recomputes every unit and makes the maps hold exactly their
// union, deleting whatever else cur records (entries of units gone while
// the proxy was down, or added behind its back).
func (r *Reconciler) syncAll(changes tables.Changes) (SyncStats, error) {
	snat := snatAddrs(changes.Node)
	// Ids in use: what the maps hold and what units already have.
	r.svcPool.reset(func(yield func(uint32) bool) {
		for id := range r.cur.serviceIDs() {
			yield(id)
		}
		for _, id := range r.svcIDs {
			yield(id)
		}
	})
	r.bePool.reset(func(yield func(uint32) bool) {
		for id := range r.cur.backends {
			yield(id)
		}
		for _, id := range r.beIDs {
			yield(id)
		}
	})
	nUnits := 0
	for _, units := range changes.Services {
		nUnits += len(units)
	}
	lbs := make([]tables.LBService, 0, nUnits)
	nBackends := 0
	for _, units := range changes.Services {
		lbs = append(lbs, units...)
		for _, u := range units {
			nBackends += len(u.Backends)
		}
	}
	r.ix = newIndexSized(len(lbs))
	// Programming many services at once: size the big maps up front.
	if len(r.beIDs) < nBackends/2 {
		r.beIDs = growMap(r.beIDs, nBackends)
		r.beAddr = growMap(r.beAddr, nBackends)
	}
	slices.SortFunc(lbs, func(a, b tables.LBService) int { return tables.CompareLBKey(a.Key, b.Key) })
	var newIDs []uint32
	var st SyncStats
	luts := buildTables(r.builder, lbs)
	for i, lb := range lbs {
		id, fresh, err := r.serviceID(lb)
		if err != nil {
			return st, err
		}
		if fresh {
			newIDs = append(newIDs, id)
		}
		u, err := r.build(lb, snat[lb.Key.Family], id, luts[i])
		if err != nil {
			return st, err
		}
		r.stats.unitsBuilt++
		r.ix.add(u, nil)
	}
	want := r.ix.full(r.beAddr)
	st, err := apply(r.maps, r.cur, want, newIDs, r.afterStep)
	if err != nil {
		return st, applyError{err}
	}
	r.cur = want
	// Forget ids, tables and kernel table ids nothing uses any more.
	for k, id := range r.svcIDs {
		if u := r.ix.units[k]; u == nil || u.id != id {
			delete(r.svcIDs, k)
		}
	}
	for id, k := range r.svcKeys {
		if u := r.ix.units[k]; u == nil || u.id != id {
			delete(r.svcKeys, id)
		}
	}
	for a, id := range r.beIDs {
		if r.ix.beRefs.get(id) == 0 {
			delete(r.beIDs, a)
			delete(r.beAddr, id)
		}
	}
	// beAddr holds the inverse of beIDs (both are written and deleted
	// together), so only more entries mean strays to drop.
	if len(r.beAddr) != len(r.beIDs) {
		for id, a := range r.beAddr {
			if r.beIDs[a] != id {
				delete(r.beAddr, id)
			}
		}
	}
	for key := range r.memo {
		if r.ix.lutRefs[key] == 0 {
			delete(r.memo, key)
		}
	}
	r.svcPool.reset(maps.Keys(r.svcKeys))
	r.bePool.reset(maps.Keys(r.beAddr))
	return st, nil
}

func growMap[K comparable, V any](m map[K]V, n int) map[K]V {
	out := make(map[K]V, n)
	maps.Copy(out, m)
	return out
}

// syncChanged recomputes the units of the changed services only and
// writes only the map entries they contributed before or contribute now;
// with whole, it compares all of cur (just read from the kernel) with
// what every unit contributes, to repair drift.
func (r *Reconciler) syncChanged(changes tables.Changes, whole bool) (SyncStats, error) {
	snat := snatAddrs(changes.Node)
	tc := newTouched()
	var removed []*unit
	var newIDs []uint32
	var st SyncStats
	names := slices.SortedFunc(maps.Keys(changes.Services), func(a, b tables.ServiceName) int {
		return tables.CompareLBKey(tables.LBKey{Service: a}, tables.LBKey{Service: b})
	})
	for _, name := range names {
		units := changes.Services[name]
		keep := map[tables.LBKey]bool{}
		for _, lb := range units {
			keep[lb.Key] = true
		}
		for _, k := range slices.Clone(r.ix.byService[name]) {
			if !keep[k] {
				u := r.ix.units[k]
				r.ix.remove(u, tc)
				removed = append(removed, u)
			}
		}
		for _, lb := range units {
			old := r.ix.units[lb.Key]
			if old != nil && sameUnit(old.lb, old.snat, lb, snat[lb.Key.Family]) {
				continue
			}
			if old != nil {
				r.ix.remove(old, tc)
				removed = append(removed, old)
			}
			id, fresh, err := r.serviceID(lb)
			if err != nil {
				return st, err
			}
			if fresh {
				newIDs = append(newIDs, id)
			}
			u, err := r.build(lb, snat[lb.Key.Family], id, nil)
			if err != nil {
				return st, err
			}
			r.stats.unitsBuilt++
			r.ix.add(u, tc)
		}
	}
	if whole {
		want := r.ix.full(r.beAddr)
		var err error
		if st, err = apply(r.maps, r.cur, want, newIDs, r.afterStep); err != nil {
			return st, applyError{err}
		}
		r.cur = want
	} else if tc.size() > 0 {
		from, to := r.ix.partial(r.cur, tc, r.svcKeys, r.beAddr)
		var err error
		if st, err = apply(r.maps, from, to, newIDs, r.afterStep); err != nil {
			return st, applyError{err}
		}
		commit(r.cur, tc, to)
	}
	// Release what the removed units held and nothing uses any more.
	for _, u := range removed {
		if nu := r.ix.units[u.lb.Key]; nu == nil || nu.id != u.id {
			if r.svcKeys[u.id] == u.lb.Key {
				delete(r.svcKeys, u.id)
				r.svcPool.release(u.id)
			}
			if nu == nil && r.svcIDs[u.lb.Key] == u.id {
				delete(r.svcIDs, u.lb.Key)
			}
		}
		if u.lutKey != "" && r.ix.lutRefs[u.lutKey] == 0 {
			delete(r.memo, u.lutKey)
		}
	}
	for id := range tc.backends {
		if r.ix.beRefs.get(id) == 0 {
			if a, ok := r.beAddr[id]; ok && r.beIDs[a] == id {
				delete(r.beIDs, a)
			}
			delete(r.beAddr, id)
			r.bePool.release(id)
		}
	}
	return st, nil
}

func (r *Reconciler) observe(start time.Time, full bool, st SyncStats, err error) {
	if r.cfg.Observer == nil {
		return
	}
	r.cfg.Observer.Synced(start, time.Since(start), full, st, len(r.ix.units), len(r.cur.backends), err)
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

// idOwnedByOther says whether id is assigned to a different key.
func (r *Reconciler) idOwnedByOther(id uint32, key tables.LBKey) bool {
	k, ok := r.svcKeys[id]
	return ok && k != key
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
	r.tracker.Close()
	var errs []error
	for _, l := range r.links {
		errs = append(errs, l.Close())
	}
	r.maps.chunks.close()
	r.maps.bes.close()
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
		for _, m := range []*ebpf.Map{r.objs.Services, r.objs.Backends, r.objs.MaglevChunks, r.objs.Affinity,
			r.objs.AffinityMatch, r.objs.Revnat, r.objs.Stats, r.objs.ExtServices, r.objs.CtFwd, r.objs.CtRev,
			r.objs.MasqNets, r.objs.MasqAddrs} {
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
