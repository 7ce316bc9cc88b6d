#!/usr/bin/env bash
# Benchmarks Skiff's eBPF Service proxy and prints figures, never pass/fail,
# side by side in one run: for 1,000, 10,000 and 50,000 Services x 10
# backends, the full sync of the BPF maps (programming all of them), one
# Service's change (a tables write, as an EndpointSlice event makes, until
# the running reconciler has written the maps; informer delivery is not
# included), the periodic resync (re-read the maps and compare them with
# what was recorded, nothing to repair), and blocking connect() p50/p99 to the first and the
# last VIP against connect() to a backend directly (the floor). Up to
# SKIFF_BENCH_IPTABLES_MAX services it also builds kube-proxy-style
# iptables-legacy rules (KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-* DNAT) for
# the same Services in a network namespace of its own and measures the
# same: iptables-restore time, one chain rewrite with --noflush, connect().
#
# Needs root (BPF, bpffs, cgroup2, netns). The socket hooks attach to a
# child cgroup only the benchmark process enters; VIPs are 10.224.0.0/12,
# real backends listen on 127.0.1.1-10 (eBPF) and inside the iptables
# namespace. Nothing outside the benchmark is translated.
#
# Environment:
#   SKIFF_BENCH_PROXY          service counts (default 1000,10000,50000)
#   SKIFF_BENCH_IPTABLES_MAX   largest count also built with iptables-legacy (default 10000;
#                              beyond that it is too slow to be a fixture)
#   SKIFF_BENCH_DIALS          connects per target (default 5000)
#   SKIFF_BENCH_MAGLEV         Maglev table size, a prime (default 251: ample for 10 backends)

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"

if [[ "$(id -u)" != 0 ]]; then
	echo "bench-proxy: needs root (BPF, bpffs, cgroups, network namespaces)" >&2
	exit 1
fi
export SKIFF_BENCH_PROXY="${SKIFF_BENCH_PROXY:-1000,10000,50000}"
export SKIFF_BENCH_IPTABLES_MAX="${SKIFF_BENCH_IPTABLES_MAX:-10000}"
export SKIFF_BENCH_DIALS="${SKIFF_BENCH_DIALS:-5000}"
export SKIFF_BENCH_MAGLEV="${SKIFF_BENCH_MAGLEV:-251}"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
go test -c -o "${tmp}/reconciler.test" ./ebpfproxy/reconciler
echo "kernel $(uname -r), $(nproc) CPUs; services: ${SKIFF_BENCH_PROXY}; iptables-legacy up to ${SKIFF_BENCH_IPTABLES_MAX}"
# The test binary runs from its package directory (testdata-relative paths).
(cd ebpfproxy/reconciler && "${tmp}/reconciler.test" -test.run '^TestBenchProxyScale$' -test.v -test.timeout 60m 2>&1) |
	grep -v -e '^I[0-9]\{4\} ' -e '^=== RUN' -e '^--- PASS' -e '^PASS$'
