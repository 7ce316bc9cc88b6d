#!/usr/bin/env bash
# Fails if the committed ebpfproxy/bpf/lb_bpfel.{go,o} differ from what
# hack/update-bpf.sh generates from ebpfproxy/bpf/c/lb.c. Skips (exit 0) where
# clang is missing, since the output depends on the compiler.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
if ! command -v "${BPF2GO_CC:-clang}" >/dev/null 2>&1; then
	echo "verify-bpf: skipped: ${BPF2GO_CC:-clang} not found (install clang and libbpf-dev to check the generated BPF files)"
	exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
SKIFF_BPF_OUT="${tmp}" hack/update-bpf.sh
status=0
for f in lb_bpfel.go lb_bpfel.o; do
	if ! cmp -s "ebpfproxy/bpf/${f}" "${tmp}/${f}"; then
		echo "ebpfproxy/bpf/${f} is out of date: run hack/update-bpf.sh (clang $("${BPF2GO_CC:-clang}" -dumpversion))" >&2
		status=1
	fi
done
exit "${status}"
