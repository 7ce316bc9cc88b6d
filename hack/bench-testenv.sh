#!/usr/bin/env bash
# Benchmarks Skiff's in-process test environment (testenv) against stock
# controller-runtime envtest started on the binaries `skiff envtest-assets`
# lays out, in one run: start and stop of one environment (the first of the
# process and the ones after it) and 16 environments started at once.
# Prints figures, never pass/fail.
#
# Environment:
#   SKIFF_BINARY              skiff binary (default bin/skiff, built by hack/build.sh if absent)
#   SKIFF_BENCH_COUNT         benchmark iterations per case (default 5)
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"

binary="${SKIFF_BINARY:-${SKIFF_ROOT}/bin/skiff}"
if [ ! -x "${binary}" ]; then
	hack/build.sh
	binary="${SKIFF_ROOT}/bin/skiff"
fi
count="${SKIFF_BENCH_COUNT:-5}"
assets="$(mktemp -d)"
trap 'rm -rf "${assets}"' EXIT
"${binary}" envtest-assets "${assets}" >/dev/null
export KUBEBUILDER_ASSETS="${assets}"

echo "bench-testenv: testenv (in-process) vs envtest on ${assets} (skiff kube-apiserver + skiff etcd processes)"
# The in-process servers log into the test binary's output, so a result line
# may be split by log lines: keep the last benchmark name seen and print it
# with the figures that follow.
go test -run '^$' -bench 'BenchmarkStartStop|BenchmarkParallel16' -benchtime "${count}x" -count 1 ./testenv/ 2>&1 |
	awk '
		match($0, /^Benchmark[^ \t]+/) { name = substr($0, RSTART, RLENGTH) }
		match($0, /[0-9]+[ \t]+[0-9]+ ns\/op.*/) { print name "\t" substr($0, RSTART) }
		/^(ok|FAIL)/ { print }
	'
