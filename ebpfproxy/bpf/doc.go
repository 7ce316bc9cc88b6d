// Package bpf holds the proxy's BPF C programs (c/lb.c: cgroup socket hooks
// that translate Service frontends to backends and back for local sockets,
// and a tcx ingress program that serves NodePort, externalIP and
// load-balancer frontends to packets from other hosts with DNAT, SNAT and a
// conntrack-like pair of LRU maps for the replies, and a tcx egress program
// that masquerades pod egress to the node address, sharing those maps) and
// the bpf2go output
// generated from them (lb_bpfel.go, lb_bpfel.o), committed so that
// building Skiff needs no clang. It describes the map layout and converts
// addresses and ports to the maps' byte order; it does not decide what goes
// into the maps (see ebpfproxy/reconciler).
package bpf
