#!/usr/bin/env bash
# Runs every test: unit tests, the in-process API server tests and the
# end-to-end suites under test/ (which use bin/skiff, built first).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
"${SKIFF_ROOT}/hack/build.sh"
export SKIFF_BINARY="${SKIFF_ROOT}/bin/skiff"
# One package at a time: the API server packages take ~2 GB each to link.
go test -p 1 -count=1 -timeout 45m "$@" ./...
