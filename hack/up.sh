#!/usr/bin/env bash
# Sets up and brings up a Skiff cluster on this host: installs dependencies,
# builds bin/skiff (and bin/skiff-cri-logger, which its kubelets find beside
# it) and runs `skiff up` (a control-plane node and a worker,
# each a network namespace with its own kubelet, containerd and eBPF proxy,
# plus cluster DNS). It merges a "skiff" context into your kubeconfig.
# SKIFF_NODES sets the node count; `bin/skiff down` removes the cluster.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
hack/install-deps.sh
hack/build.sh
bin/skiff up --nodes "${SKIFF_NODES:-2}" "$@"
