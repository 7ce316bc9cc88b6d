#!/usr/bin/env bash
# Builds bin/skiff, with the version stamped by ldflags.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
mkdir -p bin
go build -trimpath -tags "${SKIFF_BUILD_TAGS}" -ldflags "$(skiff::ldflags)" -o bin/skiff ./cmd/skiff
echo "built bin/skiff $(bin/skiff version)"
