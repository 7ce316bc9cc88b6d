// Package reconciler makes the kernel's BPF maps hold what the desired-state
// tables say. It loads the socket-hook programs, attaches them to a cgroup,
// pins maps and links under a bpffs directory (mounting bpffs there if
// needed) and, on restart, adopts what is pinned instead of starting empty,
// so established connections and the datapath survive a proxy restart or
// upgrade. Each sync diffs the tables' Desired snapshot against what it
// recorded writing and applies only the difference, in an order that never
// lets a hook see a service whose backends are not in place; failures are
// retried and a periodic resync re-reads the maps to repair drift.
//
//	tables.Desired ─▶ ids + Maglev tables ─▶ diff vs recorded ─▶ batch map ops ─▶ recorded
//	                                                ▲                               │
//	                              kernel maps ──────┘ (adoption, resync, after errors)
package reconciler
