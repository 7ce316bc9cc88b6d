#!/usr/bin/env bash
# Fails if the committed zz_generated.* files differ from what hack/update-codegen.sh produces.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
mkdir -p "${tmp}/hack"
SKIFF_CODEGEN_OUT="${tmp}" hack/update-codegen.sh
status=0
mapfile -t generated < <(cd "${tmp}" && find apis -name 'zz_generated.deepcopy.go' | sort)
for f in apiserver/generated/openapi/zz_generated.openapi.go hack/api-violations.txt "${generated[@]}"; do
	if ! diff -q "${f}" "${tmp}/${f}" >/dev/null 2>&1; then
		echo "${f} is out of date: run hack/update-codegen.sh" >&2
		status=1
	fi
done
exit "${status}"
