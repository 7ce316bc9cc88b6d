#!/usr/bin/env bash
# Sets up and runs a local Skiff: installs dependencies, builds bin/skiff and
# runs the control plane (API server, controller manager, scheduler) in the
# foreground, data under ${SKIFF_DATA_DIR}.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"
hack/install-deps.sh
hack/build.sh
data_dir="${SKIFF_DATA_DIR:-${SKIFF_ROOT}/_output/local}"
echo "starting the Skiff control plane (skiff server); in another shell:"
echo "  export KUBECONFIG=${data_dir}/admin.kubeconfig"
echo "  kubectl get namespaces        # or: SKIFF_DATA_DIR=${data_dir} bin/skiff kubectl get namespaces"
exec bin/skiff server --data-dir "${data_dir}"
