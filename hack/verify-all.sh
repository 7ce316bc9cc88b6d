#!/usr/bin/env bash
# Runs every hack/verify-*.sh and lists the ones that failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
failed=()
for script in hack/verify-*.sh; do
	[ "${script}" = hack/verify-all.sh ] && continue
	echo "== ${script}"
	if ! bash "${script}"; then failed+=("${script}"); fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "all verify scripts passed"
