//go:build tools

// Package tools pins the modules Skiff's build and code generators need, so
// that `go mod tidy` keeps them.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/apiextensions-apiserver/pkg/apiserver"
	_ "k8s.io/apiserver/pkg/server"
	_ "k8s.io/code-generator"
	_ "k8s.io/kube-aggregator/pkg/apiserver"
	_ "k8s.io/kube-openapi/cmd/openapi-gen"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
)
