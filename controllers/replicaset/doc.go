// Package replicaset is Skiff's replicaset and replicationcontroller
// controllers. Both run one reconciler: a ReplicationController is viewed as
// the equivalent ReplicaSet (its selector map as matchLabels), managed the
// same way, and its status written back in its own type. The reconciler keeps
// as many active pods as spec.replicas asks for (creating in slow-start
// batches, deleting the lowest-ranked first), adopts matching orphans and
// releases pods that stop matching, and reports replicas,
// fullyLabeledReplicas, readyReplicas, availableReplicas, terminatingReplicas,
// observedGeneration and the ReplicaFailure condition.
package replicaset
