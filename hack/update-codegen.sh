#!/usr/bin/env bash
# Regenerates every zz_generated.* file:
#   apiserver/generated/openapi/zz_generated.openapi.go  (openapi-gen over hack/openapi-packages.txt)
#   apis/**/zz_generated.deepcopy.go                     (deepcopy-gen over Skiff's own config APIs)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"

out="${SKIFF_CODEGEN_OUT:-${SKIFF_ROOT}}"
mkdir -p bin
go build -o bin/openapi-gen k8s.io/kube-openapi/cmd/openapi-gen
go build -o bin/deepcopy-gen k8s.io/code-generator/cmd/deepcopy-gen

# deepcopy-gen writes beside the types; with SKIFF_CODEGEN_OUT set (verify),
# the generated files are moved there and the tree is left as it was.
mapfile -t api_packages < <(grep -rl '^// +k8s:deepcopy-gen=package' apis --include=doc.go | xargs -n1 dirname | sort)
for pkg in "${api_packages[@]}"; do
	f="${pkg}/zz_generated.deepcopy.go"
	saved=""
	if [[ "${out}" != "${SKIFF_ROOT}" && -f "${f}" ]]; then
		saved="$(mktemp)"
		cp "${f}" "${saved}"
	fi
	bin/deepcopy-gen --output-file zz_generated.deepcopy.go --go-header-file hack/boilerplate.go.txt "./${pkg}"
	if [[ "${out}" != "${SKIFF_ROOT}" ]]; then
		mkdir -p "${out}/${pkg}"
		mv "${f}" "${out}/${f}"
		if [[ -n "${saved}" ]]; then
			mv "${saved}" "${f}"
		fi
	fi
done

mapfile -t packages < <(grep -v '^#' hack/openapi-packages.txt | grep -v '^$')
mkdir -p "${out}/apiserver/generated/openapi"
bin/openapi-gen \
	--output-dir "${out}/apiserver/generated/openapi" \
	--output-pkg github.com/skiff-dev/skiff/apiserver/generated/openapi \
	--output-file zz_generated.openapi.go \
	--go-header-file hack/boilerplate.go.txt \
	--report-filename "${out}/hack/api-violations.txt" \
	"${packages[@]}"
