// Package ebpfproxy is the root of Skiff's Service proxy, which load-balances
// Service traffic with eBPF socket hooks (github.com/cilium/ebpf) and uses no
// iptables.
package ebpfproxy
