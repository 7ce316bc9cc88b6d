#!/usr/bin/env bash
# Regenerates every zz_generated.* file:
#   apiserver/generated/openapi/zz_generated.openapi.go  (openapi-gen over hack/openapi-packages.txt)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"

out="${SKIFF_CODEGEN_OUT:-${SKIFF_ROOT}}"
mkdir -p bin
go build -o bin/openapi-gen k8s.io/kube-openapi/cmd/openapi-gen

mapfile -t packages < <(grep -v '^#' hack/openapi-packages.txt | grep -v '^$')
mkdir -p "${out}/apiserver/generated/openapi"
bin/openapi-gen \
	--output-dir "${out}/apiserver/generated/openapi" \
	--output-pkg github.com/skiff-dev/skiff/apiserver/generated/openapi \
	--output-file zz_generated.openapi.go \
	--go-header-file hack/boilerplate.go.txt \
	--report-filename "${out}/hack/api-violations.txt" \
	"${packages[@]}"
