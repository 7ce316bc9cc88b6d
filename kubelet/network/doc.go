// Package network gives each pod sandbox its own network namespace and wires it
// to the node's pod bridge through CNI plugins (loopback, bridge, host-local
// IPAM from the node's podCIDR), called with libcni. It also tears that wiring
// down and removes leftovers of sandboxes that no longer exist. It does not
// route between nodes or program services; those belong to other packages.
package network
