#!/usr/bin/env bash
# Shared by the hack/ scripts: repo root, Go flags and the version stamp.
set -euo pipefail

SKIFF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SKIFF_ROOT
SKIFF_VERSION="${SKIFF_VERSION:-$(cat "${SKIFF_ROOT}/VERSION")}"
export PATH="/usr/local/go/bin:${PATH}"

# Build tags of the skiff binary. kustomize (in kubectl) would otherwise
# link Go's plugin package, and a binary that can load plugins exports every
# symbol: 49 MB more file (232 -> 183 MB; .dynsym/.dynstr 29 MB, .text 2 MB),
# 0.1-0.3 s more to exec, ~16 MB more file-backed RSS. No Go plugin could be loaded into
# skiff anyway (a plugin must be built with the very same packages).
SKIFF_BUILD_TAGS="kustomize_disable_go_plugin_support"
export SKIFF_BUILD_TAGS

skiff::ldflags() {
	local pkg=github.com/skiff-dev/skiff/internal/version
	local commit tree date
	commit="$(git -C "${SKIFF_ROOT}" rev-parse HEAD 2>/dev/null || true)"
	tree=clean
	if [ -n "$(git -C "${SKIFF_ROOT}" status --porcelain 2>/dev/null)" ]; then tree=dirty; fi
	date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	# component-base's version is what kubectl (built in) reports as its
	# client version; it carries the same semver as the server.
	local base=k8s.io/component-base/version
	local kube="v1.37.2+skiff.${SKIFF_VERSION//+/.}"
	echo "-X ${pkg}.skiffVersion=${SKIFF_VERSION} -X ${pkg}.gitCommit=${commit} -X ${pkg}.gitTreeState=${tree} -X ${pkg}.buildDate=${date}" \
		"-X ${base}.gitVersion=${kube} -X ${base}.gitMajor=1 -X ${base}.gitMinor=37 -X ${base}.gitCommit=${commit} -X ${base}.gitTreeState=${tree} -X ${base}.buildDate=${date}"
}

# The ldflags of cmd/skiff-cri-logger, which links only the standard library
# and containerd's logging package (not internal/version): its version.
skiff::logger_ldflags() {
	echo "-X main.version=${SKIFF_VERSION}"
}
