// Package hostnet lays out the machines of a `skiff up` cluster on one
// host: a Linux bridge owned by the cluster with the host's address on it,
// and per node a pinned network namespace joined to the bridge by a veth
// pair, holding the node's IP, a default route through the host and IP
// forwarding on (so the node can route to its pods and to other nodes'
// pods). Names are derived from the cluster and node names, so everything
// a cluster made can be found and removed again, even after a crash.
package hostnet
