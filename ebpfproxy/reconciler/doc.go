// Package reconciler makes the kernel's BPF maps hold what the desired-state
// tables say. It loads the socket-hook programs, attaches them to a cgroup,
// pins maps and links under a bpffs directory (mounting bpffs there if
// needed) and, on restart, adopts what is pinned instead of starting empty,
// so established connections and the datapath survive a proxy restart or
// upgrade. Each unit (tables.LBKey) records what it contributes to the
// maps; a sync takes the services the tables report changed
// (tables.ChangeTracker), recomputes only their units (Maglev tables are
// memoized by backend set) and writes only the map entries those units
// contributed before or contribute now, so its cost follows the change, not
// the number of services. Writes go in an order that never lets a hook see
// a service whose backends are not in place. A failed write makes the next
// sync re-read the maps and compare everything; the periodic resync does
// the same to repair drift.
//
// Maglev tables live in a few large memory-mappable chunks (chunks.go), K
// tables of one size each, and the frontend entries name a table's chunk
// and offset: a full sync creates a handful of maps instead of one per
// service, and fills tables with plain stores through a mapping. A changed
// table is written to a free slot, its frontends flipped to it, and the old
// slot freed, so a hook never reads a half-written table. Backends are a
// memory-mappable array indexed by backend id (backends.go), likewise
// written through a mapping. Pins of the older layout (a hash of maps with
// one table per service, a hash of backends) are migrated when the
// reconciler starts, keeping the conntrack maps (migrate.go).
//
//	tables.ChangeTracker ─▶ changed units ─▶ ids + Maglev (memo) ─▶ diff of their entries ─▶ batch map ops ─▶ record
//	                                                                       ▲                                   │
//	                                           kernel maps ────────────────┘ (adoption, resync, after errors)
//
// With Config.ClusterCIDRs set it also runs the pod egress masquerade
// (masq.go): the egress program is attached (tcx) to the same interfaces as
// the ingress program, and every sync makes masq_nets (cluster CIDRs, every
// node address) and masq_addrs (each interface's node address) match, by
// comparing with what the maps hold; without cluster CIDRs the egress links
// are detached and both maps emptied.
package reconciler
