// Package nodestatus is the kubelet's side of the Node object: it registers
// the node with the API server (or reconciles an existing registration),
// computes the node's status (addresses, capacity and allocatable, nodeInfo,
// daemon endpoints and the Ready, MemoryPressure, DiskPressure and
// PIDPressure conditions) and patches it when it changes or the report
// interval passes, and keeps the node's Lease in kube-node-lease renewed.
// It does not run pods or decide pressure itself; callers feed it the
// runtime's version and the pressure signals.
package nodestatus
