#!/usr/bin/env bash
# Builds bin/skiff and, next to it, bin/skiff-cri-logger (the containerd
# shim's per-container log writer, which a kubelet uses when it lies beside
# the skiff executable), with the version stamped by ldflags.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
mkdir -p bin
go build -trimpath -ldflags "$(skiff::logger_ldflags)" -o bin/skiff-cri-logger ./cmd/skiff-cri-logger
echo "built bin/skiff-cri-logger $(bin/skiff-cri-logger version)"
go build -trimpath -tags "${SKIFF_BUILD_TAGS}" -ldflags "$(skiff::ldflags)" -o bin/skiff ./cmd/skiff
echo "built bin/skiff $(bin/skiff version)"
