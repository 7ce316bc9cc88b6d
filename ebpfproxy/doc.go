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
package ebpfproxy
