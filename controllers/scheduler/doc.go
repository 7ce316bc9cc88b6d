// Package scheduler is Skiff's kube-scheduler: it watches unassigned pods
// whose spec.schedulerName is its own, filters and scores nodes with the
// plugins of package framework (upstream's default profile), binds pods
// through pods/binding asynchronously, preempts lower-priority pods when
// nothing fits, and reports failures as PodScheduled=False conditions and
// FailedScheduling events in upstream's wording.
//
// The lead wires it as `skiff scheduler` and inside `skiff server` from
// Config, New and (*Scheduler).Start.
package scheduler
