// Package nodelifecycle holds two controllers of kube-controller-manager:
//
//   - "nodelifecycle" watches node heartbeats (the kube-node-lease Lease and
//     the Ready condition). A node silent for longer than
//     --node-monitor-grace-period gets its Ready, MemoryPressure,
//     DiskPressure and PIDPressure conditions set to Unknown (reason
//     NodeStatusUnknown); its NoSchedule condition taints
//     (not-ready, unreachable, *-pressure, network-unavailable,
//     unschedulable) and the NoExecute not-ready/unreachable taints follow
//     its conditions, NoExecute taints being added at a per-zone rate that
//     slows down in partially disrupted zones and stops when every zone is
//     fully disrupted; the pods of a node that is not Ready are marked
//     Ready=False.
//   - "taint-eviction-controller" deletes pods from nodes with NoExecute
//     taints they do not tolerate, at once or after their
//     tolerationSeconds, marking them with a DisruptionTarget condition
//     (reason DeletionByTaintManager) and a TaintManagerEviction event.
package nodelifecycle
