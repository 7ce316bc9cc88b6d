// Package disruption is the disruption controller: it keeps the status of
// every PodDisruptionBudget (currentHealthy, desiredHealthy, expectedPods,
// disruptionsAllowed, observedGeneration, the DisruptionAllowed condition)
// in step with the pods its selector picks, resolving percentages and
// maxUnavailable against the replicas of the pods' controllers as their
// /scale subresource reports them (a ReplicaSet owned by a Deployment
// counts as the Deployment). It drops disruptedPods entries the eviction
// API recorded once they are two minutes old, and resets a pod's stale
// DisruptionTarget condition to False when the pod was not deleted within
// two minutes of it being set. The eviction API itself, and the
// unhealthyPodEvictionPolicy, live in the API server.
package disruption
