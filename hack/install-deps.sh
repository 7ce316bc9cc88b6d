#!/usr/bin/env bash
# Installs the system packages Skiff needs to build, run and test. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v go >/dev/null 2>&1; then
	echo "Go is required (expected at /usr/local/go/bin/go); install Go >= 1.26 and re-run" >&2
	exit 1
fi

packages=(git make ca-certificates)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cd "${SKIFF_ROOT}"
go mod download
