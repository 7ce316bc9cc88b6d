#!/usr/bin/env bash
# Regenerates ebpfproxy/bpf/lb_bpfel.{go,o} from ebpfproxy/bpf/c/lb.c with bpf2go
# (github.com/cilium/ebpf/cmd/bpf2go at the go.mod version). Needs clang and
# libbpf-dev; building Skiff does not, since the output is committed.
# SKIFF_BPF_OUT writes the output elsewhere (hack/verify-bpf.sh uses it).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}/ebpfproxy/bpf"

out="${SKIFF_BPF_OUT:-${SKIFF_ROOT}/ebpfproxy/bpf}"
mkdir -p "${out}"
# <linux/bpf.h> includes <asm/types.h>, which Debian keeps in the multiarch dir.
multiarch="$( (gcc -print-multiarch 2>/dev/null || true) | head -n1)"
multiarch="${multiarch:-$(uname -m)-linux-gnu}"

GOPACKAGE=bpf go run github.com/cilium/ebpf/cmd/bpf2go \
	-tags linux -target bpfel -output-stem lb -output-dir "${out}" \
	lb c/lb.c -- -O2 -g -Wall -Werror -I"/usr/include/${multiarch}"
