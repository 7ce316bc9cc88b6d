# Every target delegates to a script under hack/.
.PHONY: build test generate verify deps run up down bench

build:
	hack/build.sh

test:
	hack/test.sh

generate:
	hack/update-codegen.sh

verify:
	hack/verify-all.sh

deps:
	hack/install-deps.sh

run:
	hack/local-up.sh

up:
	hack/up.sh

down:
	bin/skiff down

bench:
	hack/bench-apiserver.sh
