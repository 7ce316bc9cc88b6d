#!/usr/bin/env bash
# Installs the system packages Skiff needs to build, run and test. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v go >/dev/null 2>&1; then
	echo "Go is required (expected at /usr/local/go/bin/go); install Go >= 1.26 and re-run" >&2
	exit 1
fi

# Build: git, make. Run time: containerd, runc and the CNI plugins for the
# kubelet; iproute2 for pod networking. BPF: clang, llvm and libbpf headers
# regenerate the committed bpf2go output (hack/update-bpf.sh); bpftool inspects
# pinned maps. busybox-static is the userland of locally built test images.
packages=(git make ca-certificates containerd runc containernetworking-plugins iproute2
	clang llvm libbpf-dev bpftool busybox-static)
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
