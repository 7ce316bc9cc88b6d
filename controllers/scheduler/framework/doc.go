// Package framework holds the scheduler's in-memory model of the cluster
// (NodeInfo, PodInfo, Snapshot) and its filter and score plugins, as pure
// functions on objects: NodeUnschedulable, NodeName, TaintToleration,
// NodeAffinity, NodePorts, NodeResourcesFit, VolumeBinding (node affinity of
// bound volumes), PodTopologySpread and InterPodAffinity filters, and the
// NodeResourcesFit, NodeResourcesBalancedAllocation, NodeAffinity,
// TaintToleration, InterPodAffinity and PodTopologySpread scores with
// upstream's default weights.
package framework
