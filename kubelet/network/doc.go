// Package network gives each pod sandbox its own network namespace and wires it
// to the node's pod bridge through CNI plugins (loopback, bridge, host-local
// IPAM from the node's podCIDR), called with libcni. It also tears that wiring
// down and removes leftovers of sandboxes that no longer exist. Between nodes
// it keeps routes to the other nodes' pod CIDRs (Router: host-gw or VXLAN,
// RunPeerRoutes: driven by a Node informer). It does not program services;
// that is ebpfproxy's job.
package network
