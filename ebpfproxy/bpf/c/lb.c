// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Skiff's socket-level Service load balancer.
 *
 * cgroup sock_addr hooks rewrite the destination of connect(2) and
 * sendmsg(2) from a Service frontend (VIP:port/proto) to a backend chosen
 * through the service's Maglev lookup table, and rewrite the source of
 * recvmsg(2) and the result of getpeername(2) back to the frontend so that
 * clients only ever see the VIP. No packet is rewritten: the socket talks to
 * the backend directly, so there is no conntrack and no NAT.
 *
 * Every address is 16 bytes in network byte order; IPv4 is stored as an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) so one set of maps serves both
 * families and IPv4-mapped destinations of AF_INET6 sockets work too.
 * Ports are network byte order in a __u16.
 *
 * The maps are written by ebpfproxy/reconciler; the layout is mirrored in
 * ebpfproxy/bpf/bpf.go.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ECONNREFUSED 111
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ICMP 1
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define NSEC_PER_SEC 1000000000ULL

/* Default sizes; the loader overrides max_entries from its configuration. */
#define MAX_SERVICES 65536
#define MAX_BACKENDS 65536
#define MAGLEV_CHUNK_SLOTS 262144
#define MAX_CHUNKS 4096
#define MAX_CONNTRACK 65536
#define AF_INET 2

struct lb_addr {
	__u32 w[4];
};

/* services: frontend → service. */
struct svc_key {
	struct lb_addr addr;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct svc_val {
	__u32 id;               /* key of affinity and stats entries */
	__u32 count;            /* active backends; 0 refuses the connection */
	__u32 lut_size;         /* entries of the service's Maglev table */
	__u32 affinity_timeout; /* seconds; 0 disables ClientIP affinity */
	__u32 lut_chunk;        /* maglev_chunks index of the chunk holding the table */
	__u32 lut_off;          /* first entry of the table in its chunk */
};

/* backends: backend id → address. */
struct backend_val {
	struct lb_addr addr;
	__u16 port;
	__u16 pad;
};

/* affinity: (client network namespace, service) → last backend. */
struct affinity_key {
	__u64 netns_cookie;
	__u32 svc_id;
	__u32 pad;
};

struct affinity_val {
	__u64 last_used_ns;
	__u32 backend_id;
	__u32 pad;
};

/* affinity_match: which backends a service may use, to validate affinity. */
struct affinity_match_key {
	__u32 svc_id;
	__u32 backend_id;
};

/* revnat: (socket, backend) → frontend it was translated from. */
struct revnat_key {
	__u64 cookie;
	struct lb_addr addr;
	__u16 port;
	__u16 pad;
	__u32 pad2;
};

struct revnat_val {
	struct lb_addr addr;
	__u16 port;
	__u16 pad;
};

/* stats: per-CPU counters per service id. */
struct svc_stats {
	__u64 translated;
	__u64 refused;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SERVICES);
	__type(key, struct svc_key);
	__type(value, struct svc_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} services SEC(".maps");

/*
 * backends: an array indexed by backend id, memory-mappable so that the
 * reconciler writes it with plain stores. An unused id reads as zeroes:
 * port 0 means there is no backend.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct backend_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* A finalizer (splitmix64) so consecutive socket cookies spread evenly. */
static __always_inline __u32 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (__u32)x;
}

/*
 * Maglev tables (arrays of backend ids) live in a few large chunks: each
 * chunk is a memory-mappable array holding K tables of one size, and a
 * service's svc_val (or ext_val) names the chunk and the table's first
 * entry. The reconciler fills tables with plain stores through a mapping
 * and creates no map per service; it replaces a table by writing a fresh
 * one elsewhere and then flipping the frontend entries to it, so a hook
 * never sees a half-written table. BPF_F_INNER_MAP lets chunks of
 * different sizes share the outer map, so the table size can change across
 * restarts.
 */
struct maglev_chunk {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAGLEV_CHUNK_SLOTS);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_CHUNKS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct maglev_chunk);
} maglev_chunks SEC(".maps");

/* The backend id in slot hash % size of the table at chunk:off, or NULL. */
static __always_inline __u32 *lut_lookup(__u32 chunk, __u32 off, __u32 size, __u64 hash)
{
	void *lut;
	__u32 idx;

	if (!size)
		return NULL;
	lut = bpf_map_lookup_elem(&maglev_chunks, &chunk);
	if (!lut)
		return NULL;
	idx = off + mix64(hash) % size;
	return bpf_map_lookup_elem(lut, &idx);
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct affinity_key);
	__type(value, struct affinity_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BACKENDS * 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct affinity_match_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} affinity_match SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct revnat_key);
	__type(value, struct revnat_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} revnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct svc_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/*
 * ext_services: frontends that packets from other hosts reach through the
 * TC program (NodePort, externalIPs, load-balancer ingress IPs), keyed like
 * services. Under externalTrafficPolicy: Cluster the entry names the same
 * service id as the socket path and carries EXT_F_SNAT and the node address
 * to masquerade to; under Local it names a service id whose Maglev table
 * holds only this node's endpoints, and the client address is kept.
 */
#define EXT_F_SNAT 1

struct ext_val {
	__u32 id;
	__u32 count;    /* 0 drops the packet, as kube-proxy does */
	__u32 lut_size;
	__u32 flags;
	struct lb_addr snat;
	__u32 lut_chunk; /* as in svc_val */
	__u32 lut_off;
};

/* A flow as a packet carries it. */
struct ct_key {
	struct lb_addr src;
	struct lb_addr dst;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* ct_fwd: client → frontend flow, to the backend (and SNAT source) chosen. */
struct ct_fwd_val {
	struct lb_addr be;
	struct lb_addr snat;
	__u16 be_port;
	__u16 snat_port;
	__u32 svc_id;
};

/*
 * ct_rev: backend → (node or client) reply flow, to the addresses the
 * client expects: source back to the frontend, destination back to the
 * client.
 */
struct ct_rev_val {
	struct lb_addr fe;
	struct lb_addr client;
	__u16 fe_port;
	__u16 client_port;
	/*
	 * Masqueraded flows only (0 for NodePort flows, which are never
	 * reclaimed): when a packet of the flow was last seen, in units of
	 * 2^30 ns (CT_NOW), and CT_CLOSING once a TCP FIN or RST passed.
	 */
	__u32 seen;
};

#define CT_CLOSING 0x80000000U
#define CT_TIME_MASK 0x7fffffffU
/* Idle times after which a masqueraded flow's port may be reused, in CT_NOW units (~1.07 s). */
#define CT_TCP_TIMEOUT 20116   /* 6 h, as Cilium's established TCP */
#define CT_CLOSE_TIMEOUT 10    /* ~10 s after FIN/RST, as Cilium's */
#define CT_UDP_TIMEOUT 112     /* 2 min, as nf_conntrack's UDP stream */
#define CT_ICMP_TIMEOUT 28     /* 30 s, as nf_conntrack's ICMP */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SERVICES);
	__type(key, struct svc_key);
	__type(value, struct ext_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ext_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_CONNTRACK);
	__type(key, struct ct_key);
	__type(value, struct ct_fwd_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_CONNTRACK);
	__type(key, struct ct_key);
	__type(value, struct ct_rev_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct_rev SEC(".maps");

/*
 * Pod egress masquerade (tcx egress on the node's uplinks, replies through
 * the tcx ingress program and ct_rev).
 *
 * masq_nets: longest-prefix match over the networks the masquerade treats
 * specially. MASQ_F_CLUSTER marks the cluster (pod) CIDRs: packets from
 * them are masqueraded, packets to them are not. MASQ_F_KEEP_DST marks
 * other destinations that are not masqueraded to (the cluster's node
 * addresses). Addresses are IPv4-mapped like everywhere else, so an IPv4
 * /N is prefixlen 96+N.
 */
#define MASQ_F_CLUSTER 1
#define MASQ_F_KEEP_DST 2

struct masq_net_key {
	__u32 prefixlen;
	struct lb_addr addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct masq_net_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} masq_nets SEC(".maps");

/* masq_addrs: uplink ifindex → the node address masqueraded packets get. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct lb_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} masq_addrs SEC(".maps");

enum xlate_result {
	XLATE_PASS = 0,    /* not a frontend: leave the address alone */
	XLATE_DONE = 1,    /* rewritten to a backend */
	XLATE_REFUSE = 2,  /* a frontend without a usable backend */
};

static __always_inline void count(__u32 svc_id, int refused)
{
	struct svc_stats *s = bpf_map_lookup_elem(&stats, &svc_id);

	if (!s)
		return;
	if (refused)
		s->refused++;
	else
		s->translated++;
}

static __always_inline int is_v4mapped(const struct lb_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0x0000ffffU);
}

/* Picks a backend for the socket; returns 0 when there is none. */
static __always_inline __u32 select_backend(struct bpf_sock_addr *ctx, const struct svc_val *svc,
					   __u64 cookie)
{
	struct affinity_key ak = {};
	__u64 now = 0;
	__u32 backend_id = 0;

	if (svc->affinity_timeout) {
		struct affinity_val *av;

		ak.netns_cookie = bpf_get_netns_cookie(ctx);
		ak.svc_id = svc->id;
		now = bpf_ktime_get_ns();
		av = bpf_map_lookup_elem(&affinity, &ak);
		if (av && now - av->last_used_ns <= (__u64)svc->affinity_timeout * NSEC_PER_SEC) {
			struct affinity_match_key mk = { .svc_id = svc->id, .backend_id = av->backend_id };

			if (bpf_map_lookup_elem(&affinity_match, &mk))
				backend_id = av->backend_id;
		}
	}

	if (!backend_id) {
		__u32 *id = lut_lookup(svc->lut_chunk, svc->lut_off, svc->lut_size, cookie);

		if (!id)
			return 0;
		backend_id = *id;
	}

	if (svc->affinity_timeout && backend_id) {
		struct affinity_val nv = { .last_used_ns = now, .backend_id = backend_id };

		bpf_map_update_elem(&affinity, &ak, &nv, BPF_ANY);
	}
	return backend_id;
}

/*
 * Translates addr:port in place. v4 says the hook is an AF_INET one, whose
 * backend must then be an IPv4 address.
 */
static __always_inline int translate(struct bpf_sock_addr *ctx, struct lb_addr *addr, __u16 *port,
				     int v4, int record_rev)
{
	struct svc_key sk = {};
	struct svc_val *svc;
	struct backend_val *be;
	__u64 cookie;
	__u32 backend_id;

	sk.addr = *addr;
	sk.port = *port;
	sk.proto = (__u8)ctx->protocol;
	svc = bpf_map_lookup_elem(&services, &sk);
	if (!svc)
		return XLATE_PASS;
	if (svc->count == 0)
		goto refuse;

	cookie = bpf_get_socket_cookie(ctx);
	backend_id = select_backend(ctx, svc, cookie);
	if (!backend_id)
		goto refuse;
	be = bpf_map_lookup_elem(&backends, &backend_id);
	if (!be || !be->port)
		goto refuse;
	if (v4 && !is_v4mapped(&be->addr))
		goto refuse;

	if (record_rev) {
		struct revnat_key rk = { .cookie = cookie, .addr = be->addr, .port = be->port };
		struct revnat_val rv = { .addr = sk.addr, .port = sk.port };

		bpf_map_update_elem(&revnat, &rk, &rv, BPF_ANY);
	}
	*addr = be->addr;
	*port = be->port;
	count(svc->id, 0);
	return XLATE_DONE;

refuse:
	count(svc->id, 1);
	return XLATE_REFUSE;
}

/* Looks up the frontend a backend address was translated from. */
static __always_inline int reverse(struct bpf_sock_addr *ctx, struct lb_addr *addr, __u16 *port)
{
	struct revnat_key rk = {};
	struct revnat_val *rv;

	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.addr = *addr;
	rk.port = *port;
	rv = bpf_map_lookup_elem(&revnat, &rk);
	if (!rv)
		return 0;
	*addr = rv->addr;
	*port = rv->port;
	return 1;
}

static __always_inline void load4(struct bpf_sock_addr *ctx, struct lb_addr *a, __u16 *port)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0x0000ffffU);
	a->w[3] = ctx->user_ip4;
	*port = (__u16)ctx->user_port;
}

static __always_inline void store4(struct bpf_sock_addr *ctx, const struct lb_addr *a, __u16 port)
{
	ctx->user_ip4 = a->w[3];
	ctx->user_port = (__u32)port;
}

static __always_inline void load6(struct bpf_sock_addr *ctx, struct lb_addr *a, __u16 *port)
{
	a->w[0] = ctx->user_ip6[0];
	a->w[1] = ctx->user_ip6[1];
	a->w[2] = ctx->user_ip6[2];
	a->w[3] = ctx->user_ip6[3];
	*port = (__u16)ctx->user_port;
}

static __always_inline void store6(struct bpf_sock_addr *ctx, const struct lb_addr *a, __u16 port)
{
	ctx->user_ip6[0] = a->w[0];
	ctx->user_ip6[1] = a->w[1];
	ctx->user_ip6[2] = a->w[2];
	ctx->user_ip6[3] = a->w[3];
	ctx->user_port = (__u32)port;
}

/* connect4/sendmsg4 return 1 to let the call go on, 0 to fail it with the retval set. */
static __always_inline int forward4(struct bpf_sock_addr *ctx)
{
	struct lb_addr a;
	__u16 port;
	int r;

	load4(ctx, &a, &port);
	r = translate(ctx, &a, &port, 1, 1);
	if (r == XLATE_DONE)
		store4(ctx, &a, port);
	if (r == XLATE_REFUSE) {
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	}
	return 1;
}

static __always_inline int forward6(struct bpf_sock_addr *ctx)
{
	struct lb_addr a;
	__u16 port;
	int r;

	load6(ctx, &a, &port);
	r = translate(ctx, &a, &port, 0, 1);
	if (r == XLATE_DONE)
		store6(ctx, &a, port);
	if (r == XLATE_REFUSE) {
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	}
	return 1;
}

SEC("cgroup/connect4")
int skiff_connect4(struct bpf_sock_addr *ctx)
{
	return forward4(ctx);
}

SEC("cgroup/sendmsg4")
int skiff_sendmsg4(struct bpf_sock_addr *ctx)
{
	return forward4(ctx);
}

SEC("cgroup/connect6")
int skiff_connect6(struct bpf_sock_addr *ctx)
{
	return forward6(ctx);
}

SEC("cgroup/sendmsg6")
int skiff_sendmsg6(struct bpf_sock_addr *ctx)
{
	return forward6(ctx);
}

/* recvmsg and getpeername programs must return 1. */
SEC("cgroup/recvmsg4")
int skiff_recvmsg4(struct bpf_sock_addr *ctx)
{
	struct lb_addr a;
	__u16 port;

	load4(ctx, &a, &port);
	if (reverse(ctx, &a, &port))
		store4(ctx, &a, port);
	return 1;
}

SEC("cgroup/getpeername4")
int skiff_getpeername4(struct bpf_sock_addr *ctx)
{
	struct lb_addr a;
	__u16 port;

	load4(ctx, &a, &port);
	if (reverse(ctx, &a, &port))
		store4(ctx, &a, port);
	return 1;
}

SEC("cgroup/recvmsg6")
int skiff_recvmsg6(struct bpf_sock_addr *ctx)
{
	struct lb_addr a;
	__u16 port;

	load6(ctx, &a, &port);
	if (reverse(ctx, &a, &port))
		store6(ctx, &a, port);
	return 1;
}

SEC("cgroup/getpeername6")
int skiff_getpeername6(struct bpf_sock_addr *ctx)
{
	struct lb_addr a;
	__u16 port;

	load6(ctx, &a, &port);
	if (reverse(ctx, &a, &port))
		store6(ctx, &a, port);
	return 1;
}

/* ---- TC: NodePort, externalIPs and load-balancer IPs from other hosts ---- */

#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))

static __always_inline void addr4(struct lb_addr *a, __u32 ip)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0x0000ffffU);
	a->w[3] = ip;
}

/* Rewrites one end (source or destination) of an IPv4 TCP/UDP packet. */
static __always_inline int rewrite4(struct __sk_buff *skb, __u8 proto, int src, __u32 old_ip, __u32 new_ip,
				    __u16 old_port, __u16 new_port)
{
	__u32 csum_off = L4_OFF + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check));
	__u32 ip_off = ETH_HLEN + (src ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr));
	__u32 port_off = L4_OFF + (src ? 0 : 2);
	__u64 mangled = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (old_ip != new_ip) {
		if (bpf_l4_csum_replace(skb, csum_off, old_ip, new_ip, BPF_F_PSEUDO_HDR | mangled | 4))
			return -1;
		if (bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old_ip, new_ip, 4))
			return -1;
		if (bpf_skb_store_bytes(skb, ip_off, &new_ip, 4, 0))
			return -1;
	}
	if (old_port != new_port) {
		if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, mangled | 2))
			return -1;
		if (bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0))
			return -1;
	}
	return 0;
}

/* Sends the rewritten packet out of the interface the routing table picks. */
static __always_inline int forward_out(struct __sk_buff *skb, __u32 saddr, __u32 daddr, __u8 proto)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	fib.family = AF_INET;
	fib.l4_protocol = proto;
	fib.tot_len = skb->len - ETH_HLEN;
	fib.ipv4_src = saddr;
	fib.ipv4_dst = daddr;
	fib.ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return TC_ACT_SHOT; /* no route (or forwarding disabled) for a packet we rewrote */
	return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
}

static __always_inline __u32 ct_now(void)
{
	return ((__u32)(bpf_ktime_get_ns() >> 30) + 1) & CT_TIME_MASK; /* never 0 */
}

/* Says whether a masqueraded flow has been idle past its timeout. */
static __always_inline int ct_stale(const struct ct_rev_val *v, __u8 proto)
{
	__u32 seen = v->seen, timeout;

	if (!seen)
		return 0; /* NodePort flows stay until LRU eviction */
	if (seen & CT_CLOSING)
		timeout = CT_CLOSE_TIMEOUT;
	else if (proto == IPPROTO_TCP)
		timeout = CT_TCP_TIMEOUT;
	else if (proto == IPPROTO_UDP)
		timeout = CT_UDP_TIMEOUT;
	else
		timeout = CT_ICMP_TIMEOUT;
	return ((ct_now() - (seen & CT_TIME_MASK)) & CT_TIME_MASK) > timeout;
}

/* TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10); 0 for others. */
static __always_inline __u8 tcp_flags(struct __sk_buff *skb, __u8 proto)
{
	__u8 f = 0;

	if (proto == IPPROTO_TCP)
		bpf_skb_load_bytes(skb, L4_OFF + 13, &f, 1);
	return f;
}

/* Marks a masqueraded flow seen now; FIN/RST start its close, a SYN ends that. */
static __always_inline void ct_touch(struct ct_rev_val *v, __u8 flags)
{
	__u32 closing = v->seen & CT_CLOSING;

	if (flags & 0x05)
		closing = CT_CLOSING;
	else if ((flags & 0x12) == 0x02)
		closing = 0;
	v->seen = ct_now() | closing;
}

/*
 * Picks a source port on the SNAT address that no other flow to be uses:
 * first, then ports hashed into [base, base+span).
 */
static __always_inline int claim_port(struct ct_key *rk, struct ct_rev_val *rv, __u16 first, __u32 base,
				      __u32 span)
{
	__u32 h = mix64(((__u64)rk->src.w[3] << 32) | rv->client.w[3]) ^ rv->client_port;
	struct ct_rev_val *cur;

	rk->dport = first;
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (!bpf_map_update_elem(&ct_rev, rk, rv, BPF_NOEXIST))
			return 0;
		cur = bpf_map_lookup_elem(&ct_rev, rk);
		if (cur && cur->client.w[3] == rv->client.w[3] && cur->client_port == rv->client_port &&
		    cur->fe.w[3] == rv->fe.w[3] && cur->fe_port == rv->fe_port)
			return 0; /* ours already */
		/* A masqueraded flow idle past its timeout gives up its port. */
		if (cur && ct_stale(cur, rk->proto) && !bpf_map_update_elem(&ct_rev, rk, rv, BPF_EXIST))
			return 0;
		h = h * 2654435761U + 1;
		rk->dport = bpf_htons(base + h % span);
	}
	return -1;
}

/* NodePort SNAT ports: the client's, else the Linux ephemeral range. */
static __always_inline int claim_snat(struct ct_key *rk, struct ct_rev_val *rv, __u16 first)
{
	return claim_port(rk, rv, first, 32768, 28232);
}


/* ---- Pod egress masquerade ---- */

/*
 * Masqueraded flows get ports (TCP, UDP) and echo ids (ICMP) from
 * 61000-65535: above net.ipv4.ip_local_port_range's default 32768-60999,
 * so they never take a tuple the node's own sockets pick, and outside the
 * NodePort range.
 */
#define MASQ_PORT_BASE 61000
#define MASQ_PORT_SPAN 4536

static __always_inline __u32 masq_flags(__u32 ip)
{
	struct masq_net_key k = { .prefixlen = 128 };
	__u32 *f;

	addr4(&k.addr, ip);
	f = bpf_map_lookup_elem(&masq_nets, &k);
	return f ? *f : 0;
}

/* An ICMPv4 echo header (<linux/icmp.h> drags in libc headers). */
struct icmp_echo {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__u16 id;
	__u16 seq;
};

#define ICMP_OFF(field) (L4_OFF + offsetof(struct icmp_echo, field))

/* Rewrites an ICMP echo's address (source or destination) and id. */
static __always_inline int rewrite_icmp4(struct __sk_buff *skb, int src, __u32 old_ip, __u32 new_ip,
					 __u16 old_id, __u16 new_id)
{
	__u32 ip_off = ETH_HLEN + (src ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr));

	if (old_ip != new_ip) {
		/* ICMPv4 has no pseudo header: only the IP checksum covers it. */
		if (bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old_ip, new_ip, 4))
			return -1;
		if (bpf_skb_store_bytes(skb, ip_off, &new_ip, 4, 0))
			return -1;
	}
	if (old_id != new_id) {
		if (bpf_l4_csum_replace(skb, ICMP_OFF(checksum), old_id, new_id, 2))
			return -1;
		if (bpf_skb_store_bytes(skb, ICMP_OFF(id), &new_id, 2, 0))
			return -1;
	}
	return 0;
}

/* An echo reply to a masqueraded echo request: back to the pod. */
static __always_inline int masq_icmp_reply(struct __sk_buff *skb, __u32 saddr, __u32 daddr)
{
	void *data, *data_end;
	struct icmp_echo *icmp;
	struct ct_key k = {};
	struct ct_rev_val *rev;
	__u32 client;
	__u16 id, client_id;

	if (bpf_skb_pull_data(skb, L4_OFF + sizeof(struct icmp_echo)))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	icmp = data + L4_OFF;
	if ((void *)(icmp + 1) > data_end)
		return TC_ACT_OK;
	if (icmp->type != ICMP_ECHOREPLY || icmp->code != 0)
		return TC_ACT_OK;
	id = icmp->id;
	addr4(&k.src, saddr);
	addr4(&k.dst, daddr);
	k.dport = id;
	k.proto = IPPROTO_ICMP;
	rev = bpf_map_lookup_elem(&ct_rev, &k);
	if (!rev)
		return TC_ACT_OK;
	ct_touch(rev, 0);
	client = rev->client.w[3];
	client_id = rev->client_port;
	if (rewrite_icmp4(skb, 0, daddr, client, id, client_id))
		return TC_ACT_SHOT;
	return forward_out(skb, saddr, client, IPPROTO_ICMP);
}

SEC("tcx/ingress")
int skiff_tc_ingress(struct __sk_buff *skb)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u16 *ports;
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto;
	struct ct_key k = {};
	struct ct_rev_val *rev;
	struct ext_val *ev;
	struct ct_fwd_val *fwd, nf = {};

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_pull_data(skb, L4_OFF + 4))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
		return TC_ACT_OK; /* options and fragments are left to the kernel */
	proto = ip->protocol;
	saddr = ip->saddr;
	daddr = ip->daddr;
	if (proto == IPPROTO_ICMP)
		return masq_icmp_reply(skb, saddr, daddr);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return TC_ACT_OK;
	sport = ports[0];
	dport = ports[1];

	addr4(&k.src, saddr);
	addr4(&k.dst, daddr);
	k.sport = sport;
	k.dport = dport;
	k.proto = proto;

	/* A reply from a backend: back to the frontend the client addressed. */
	rev = bpf_map_lookup_elem(&ct_rev, &k);
	if (rev) {
		__u32 fe = rev->fe.w[3], client = rev->client.w[3];

		if (rev->seen)
			ct_touch(rev, tcp_flags(skb, proto));
		__u16 fe_port = rev->fe_port, client_port = rev->client_port;

		if (rewrite4(skb, proto, 1, saddr, fe, sport, fe_port) ||
		    rewrite4(skb, proto, 0, daddr, client, dport, client_port))
			return TC_ACT_SHOT;
		return forward_out(skb, fe, client, proto);
	}

	{
		struct svc_key sk = {};

		sk.addr = k.dst;
		sk.port = dport;
		sk.proto = proto;
		ev = bpf_map_lookup_elem(&ext_services, &sk);
	}
	if (!ev)
		return TC_ACT_OK;
	if (ev->count == 0) {
		count(ev->id, 1);
		return TC_ACT_SHOT;
	}

	fwd = bpf_map_lookup_elem(&ct_fwd, &k);
	if (fwd) {
		nf = *fwd;
	} else {
		struct backend_val *be;
		struct ct_key rk = {};
		struct ct_rev_val rv = {};
		__u32 *id = lut_lookup(ev->lut_chunk, ev->lut_off, ev->lut_size,
				       ((__u64)saddr << 32) | ((__u64)sport << 16) | proto);

		if (!id)
			return TC_ACT_SHOT;
		be = bpf_map_lookup_elem(&backends, id);
		if (!be || !be->port || !is_v4mapped(&be->addr))
			return TC_ACT_SHOT;

		nf.be = be->addr;
		nf.be_port = be->port;
		nf.svc_id = ev->id;
		rv.fe = k.dst;
		rv.fe_port = dport;
		rv.client = k.src;
		rv.client_port = sport;
		rk.src = be->addr;
		rk.sport = be->port;
		rk.proto = proto;
		if (ev->flags & EXT_F_SNAT) {
			rk.dst = ev->snat;
			if (claim_snat(&rk, &rv, sport))
				return TC_ACT_SHOT;
			nf.snat = ev->snat;
			nf.snat_port = rk.dport;
		} else {
			rk.dst = k.src;
			rk.dport = sport;
			if (bpf_map_update_elem(&ct_rev, &rk, &rv, BPF_ANY))
				return TC_ACT_SHOT;
			nf.snat = k.src;
			nf.snat_port = sport;
		}
		if (bpf_map_update_elem(&ct_fwd, &k, &nf, BPF_ANY))
			return TC_ACT_SHOT;
		count(ev->id, 0);
	}

	{
		__u32 be_ip = nf.be.w[3], snat_ip = nf.snat.w[3];
		__u16 be_port = nf.be_port, snat_port = nf.snat_port;

		if (rewrite4(skb, proto, 0, daddr, be_ip, dport, be_port) ||
		    rewrite4(skb, proto, 1, saddr, snat_ip, sport, snat_port))
			return TC_ACT_SHOT;
		return forward_out(skb, snat_ip, be_ip, proto);
	}
}

/*
 * Pod egress masquerade on an uplink: a packet from a cluster CIDR to
 * anywhere else (not the cluster CIDRs, not a node address, not a Service
 * frontend) leaves with the uplink's node address and a port of
 * [MASQ_PORT_BASE, +MASQ_PORT_SPAN) as its source. ct_fwd remembers the
 * port for the flow; ct_rev maps the reply, which the ingress program
 * translates back (TCP and UDP with NodePort replies, ICMP echo in
 * masq_icmp_reply). Both are LRU maps, shared with the NodePort SNAT so that
 * one port claim serves both.
 */
SEC("tcx/egress")
int skiff_tc_egress(struct __sk_buff *skb)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u16 *l4;
	__u32 saddr, daddr, snat_ip, key;
	__u16 sport, dport, snat_port;
	__u8 proto;
	struct lb_addr *snat;
	struct ct_key k = {};
	struct ct_fwd_val *fwd;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	/*
	 * Every packet the node sends passes here: pull headers into the
	 * linear area only when they are not there, since pulling also
	 * unclones the skb (TCP's retransmit queue holds clones).
	 */
	if ((void *)(long)skb->data + L4_OFF + 8 > (void *)(long)skb->data_end &&
	    bpf_skb_pull_data(skb, L4_OFF + 8))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	l4 = (void *)(ip + 1);
	if ((void *)(l4 + 4) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
		return TC_ACT_OK;
	proto = ip->protocol;
	saddr = ip->saddr;
	daddr = ip->daddr;
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		sport = l4[0];
		dport = l4[1];
		break;
	case IPPROTO_ICMP: {
		struct icmp_echo *icmp = (void *)l4;

		if (icmp->type != ICMP_ECHO || icmp->code != 0)
			return TC_ACT_OK;
		sport = icmp->id;
		dport = 0;
		break;
	}
	default:
		return TC_ACT_OK;
	}

	if (!(masq_flags(saddr) & MASQ_F_CLUSTER) || masq_flags(daddr))
		return TC_ACT_OK;
	key = skb->ifindex;
	snat = bpf_map_lookup_elem(&masq_addrs, &key);
	if (!snat)
		return TC_ACT_OK;
	snat_ip = snat->w[3];

	addr4(&k.src, saddr);
	addr4(&k.dst, daddr);
	k.sport = sport;
	k.dport = dport;
	k.proto = proto;
	/* A backend's reply to a client it was DNATed to (Local policy): not ours. */
	if (bpf_map_lookup_elem(&ct_rev, &k))
		return TC_ACT_OK;
	if (proto != IPPROTO_ICMP) {
		struct svc_key sk = {};

		sk.addr = k.dst;
		sk.port = dport;
		sk.proto = proto;
		if (bpf_map_lookup_elem(&services, &sk) || bpf_map_lookup_elem(&ext_services, &sk))
			return TC_ACT_OK; /* a Service frontend the socket hooks did not translate */
	}

	fwd = bpf_map_lookup_elem(&ct_fwd, &k);
	if (fwd && fwd->snat.w[3] == snat_ip && fwd->svc_id == 0) {
		struct ct_key rk = {};
		struct ct_rev_val *rv;

		rk.src = k.dst;
		rk.sport = dport;
		addr4(&rk.dst, snat_ip);
		rk.dport = fwd->snat_port;
		rk.proto = proto;
		rv = bpf_map_lookup_elem(&ct_rev, &rk);
		/* Still ours, unless the port went to another flow while idle. */
		if (!rv || rv->client.w[3] != saddr || rv->client_port != sport)
			fwd = NULL;
		else
			ct_touch(rv, tcp_flags(skb, proto));
	} else {
		fwd = NULL;
	}
	if (fwd) {
		snat_port = fwd->snat_port;
	} else {
		struct ct_key rk = {};
		struct ct_rev_val rv = {};
		struct ct_fwd_val nf = {};
		__u16 first;

		rv.fe = k.dst;
		rv.fe_port = dport;
		rv.client = k.src;
		rv.client_port = sport;
		rv.seen = ct_now();
		ct_touch(&rv, tcp_flags(skb, proto));
		rk.src = k.dst;
		rk.sport = dport;
		addr4(&rk.dst, snat_ip);
		rk.proto = proto;
		first = bpf_htons(MASQ_PORT_BASE + mix64(((__u64)saddr << 32) | ((__u64)sport << 16) | proto) % MASQ_PORT_SPAN);
		if (claim_port(&rk, &rv, first, MASQ_PORT_BASE, MASQ_PORT_SPAN))
			return TC_ACT_SHOT; /* every port tried is taken */
		snat_port = rk.dport;
		nf.be = k.dst;
		nf.be_port = dport;
		addr4(&nf.snat, snat_ip);
		nf.snat_port = snat_port;
		if (bpf_map_update_elem(&ct_fwd, &k, &nf, BPF_ANY))
			return TC_ACT_SHOT;
	}

	if (proto == IPPROTO_ICMP) {
		if (rewrite_icmp4(skb, 1, saddr, snat_ip, sport, snat_port))
			return TC_ACT_SHOT;
	} else if (rewrite4(skb, proto, 1, saddr, snat_ip, sport, snat_port)) {
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char __license[] SEC("license") = "Dual BSD/GPL";
