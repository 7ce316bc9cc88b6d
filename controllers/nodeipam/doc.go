// Package nodeipam is the "nodeipam" controller in its range-allocator
// form: it gives every node spec.podCIDR/podCIDRs, one subnet of
// NodeCIDRMaskSize per cluster CIDR (one per IP family), rebuilding the set
// of used subnets from the nodes that exist when it starts so restarts never
// hand one out twice, releasing a node's subnets when it is deleted, and
// reporting CIDRNotAvailable on a node when a range is exhausted. Without
// cluster CIDRs it does nothing.
package nodeipam
