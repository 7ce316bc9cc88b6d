// Package podcontrol holds what Skiff's workload controllers (replicaset,
// replicationcontroller, deployment, and later job, statefulset, daemonset)
// share: expectations that keep a lagging informer cache from causing
// double-creates or double-deletes, pod construction from a template with a
// controller ownerReference, slow-start batching of creations, adoption and
// release of objects by controllerRef and selector, and pod predicates and the
// deletion ranking (which pod to remove first when scaling down).
package podcontrol
