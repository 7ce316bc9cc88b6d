// Package ebpfproxy is the root of Skiff's Service proxy, which load-balances
// Service traffic with eBPF cgroup socket hooks (github.com/cilium/ebpf) and
// uses no iptables, no nftables and no userspace proxying. It is laid out
// like Cilium's pkg/loadbalancer: data sources only write desired state, a
// reconciler alone writes the BPF maps.
//
//		Service, EndpointSlice ──▶ datasource ──▶ tables ──▶ reconciler ──▶ BPF maps ◀── bpf (socket hooks)
//		 (informers, later)        (translate)    (desired)   (diff, Maglev,   (pinned)     connect/sendmsg: VIP → backend
//		                                                       safe order)                  recvmsg/getpeername: backend → VIP
//
//	  - bpf: the C programs (bpf/c/lb.c: socket hooks for local sockets, a
//	    tcx ingress program for NodePorts/externalIPs/LB IPs from other
//	    hosts) and their committed bpf2go output; map layout and byte order.
//	  - maglev: Maglev lookup tables (consistent backend selection).
//	  - tables: desired state in plain Go (services, frontends, backends) and
//	    the endpoint choice kube-proxy makes (ready, terminating fallback,
//	    traffic policies, topology hints).
//	  - datasource: Service/EndpointSlice → tables translation.
//	  - reconciler: tables → pinned BPF maps and links (cgroup and tcx),
//	    adoption on restart, retries and drift repair.
//	  - proxy: `skiff proxy` (informers, health, metrics,
//	    healthCheckNodePorts, status).
//
// # Pod egress masquerade
//
// With --cluster-cidr (kube-proxy's flag) the proxy also masquerades pod
// egress (issue 8): a tcx egress program on the --nodeport-interfaces
// rewrites the source of IPv4 TCP, UDP and ICMP echo packets from a cluster
// CIDR to anything but a cluster CIDR, a Node's address or a Service
// frontend to the interface's node address, with a port (echo id) of
// 61000-65535, above the kernel's default ephemeral range so that the
// node's own sockets never pick the same tuple. The flow goes into the same
// LRU conntrack maps (ct_fwd, ct_rev) as the NodePort SNAT, and the tcx
// ingress program translates replies back and redirects them to the pod.
// Pod-to-pod (no NAT across nodes, routes only) and pod-to-node traffic keep
// the pod address.
//
// Why eBPF and not nftables (issue 8 allows nftables only if unavoidable):
//   - One NAT state machine. NodePort SNAT already claims node ports in
//     ct_rev from the TC programs; an nftables masquerade would claim
//     ports in nf_conntrack, which knows nothing of ct_rev, so the two
//     could give the same (node address, port, peer) to two flows and
//     replies would go to the wrong one. Sharing ct_rev makes that
//     impossible (claim_port inserts with BPF_NOEXIST).
//   - The TC programs bypass netfilter for what they redirect
//     (bpf_redirect_neigh), so nft rules would see only part of the
//     traffic and their conntrack entries would be half-open.
//   - No second datapath to own: no nf_conntrack/nf_nat in the node's
//     namespace, no ruleset to restore, flush or garbage-collect; the
//     state is pinned maps and links adopted across proxy restarts like
//     the rest, and removed by `skiff proxy --cleanup`.
//
// Limits: IPv4 only (IPv6 cluster CIDRs are accepted and ignored by the
// program); fragments and packets with IP options leave untranslated;
// ICMP errors about masqueraded flows (e.g. fragmentation needed) are not
// translated back to the pod; 4536 ports per (peer address, peer port,
// protocol). Entries are LRU, as the NodePort ones; besides, a masqueraded
// flow's port may go to a new flow once the flow has been idle for 6 h
// (TCP), ~10 s after a FIN or RST, 2 min (UDP) or 30 s (ICMP), Cilium's and
// nf_conntrack's timeouts (ct_rev_val.seen; NodePort entries carry no time
// and are never taken over). So a pod sustains about 450 new TCP
// connections per second to one peer port, as MASQUERADE does with its
// 120 s TIME_WAIT.
package ebpfproxy
