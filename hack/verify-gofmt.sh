#!/usr/bin/env bash
# Fails if any Go file is not gofmt'ed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
bad="$(gofmt -l $(git ls-files '*.go' | grep -v '^vendor/') 2>&1 || true)"
if [ -n "${bad}" ]; then
	echo "these files need gofmt -w:" >&2
	echo "${bad}" >&2
	exit 1
fi
