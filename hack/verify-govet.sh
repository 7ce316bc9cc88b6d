#!/usr/bin/env bash
# Runs go vet on every package.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
go vet ./...
