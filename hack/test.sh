#!/usr/bin/env bash
# Runs every test: unit tests, the in-process API server tests and the
# end-to-end suites under test/, which run the skiff binary.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
# The binary the end-to-end suites run: stamped like hack/build.sh's, but
# without -trimpath, so that it shares the build cache with `go vet` and
# `go test` (a second, -trimpath compile of k8s.io/* costs ~8 min cold).
mkdir -p _output/test
go build -tags "${SKIFF_BUILD_TAGS}" -ldflags "$(skiff::ldflags)" -o _output/test/skiff ./cmd/skiff
# Its kubelets' log writer, found next to it.
go build -ldflags "$(skiff::logger_ldflags)" -o _output/test/skiff-cri-logger ./cmd/skiff-cri-logger
export SKIFF_BINARY="${SKIFF_ROOT}/_output/test/skiff"
# Two packages at a time (the machine has two cores): a package that links
# the API server takes ~2 GB to link, so two fit easily in memory.
go test -p 2 -count=1 -timeout 45m "$@" ./...
