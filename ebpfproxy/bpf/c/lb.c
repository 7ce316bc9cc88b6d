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
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ECONNREFUSED 111
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define NSEC_PER_SEC 1000000000ULL

/* Default sizes; the loader overrides max_entries from its configuration. */
#define MAX_SERVICES 65536
#define MAX_BACKENDS 65536
#define MAGLEV_DEFAULT_SIZE 16381

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
	__u32 id;               /* key of maglev, affinity and stats entries */
	__u32 count;            /* active backends; 0 refuses the connection */
	__u32 lut_size;         /* entries of the service's Maglev table */
	__u32 affinity_timeout; /* seconds; 0 disables ClientIP affinity */
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/*
 * One Maglev table per service: an array of backend ids. BPF_F_INNER_MAP
 * lets tables of different sizes share the outer map, so the table size can
 * change across restarts; svc_val.lut_size says how big each one is.
 */
struct maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAGLEV_DEFAULT_SIZE);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, MAX_SERVICES);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct maglev_inner);
} maglev SEC(".maps");

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

enum xlate_result {
	XLATE_PASS = 0,    /* not a frontend: leave the address alone */
	XLATE_DONE = 1,    /* rewritten to a backend */
	XLATE_REFUSE = 2,  /* a frontend without a usable backend */
};

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
		void *lut;
		__u32 slot, *id;

		if (!svc->lut_size)
			return 0;
		lut = bpf_map_lookup_elem(&maglev, &svc->id);
		if (!lut)
			return 0;
		slot = mix64(cookie) % svc->lut_size;
		id = bpf_map_lookup_elem(lut, &slot);
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
	if (!be)
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

char __license[] SEC("license") = "Dual BSD/GPL";
