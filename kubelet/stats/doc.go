// Package stats reads CPU and memory usage of cgroups (v1 controllers or the
// v2 unified tree, whichever holds the controller; hybrid hosts prefer v1)
// and of the node, for the kubelet's /stats/summary and /metrics/resource.
package stats
