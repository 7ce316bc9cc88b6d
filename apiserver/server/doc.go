// Package server assembles Skiff's API server from k8s.io/apiserver, in
// kube-apiserver's order: storage, OpenAPI, authentication, authorization,
// admission; then the delegation chain kube-aggregator → built-in groups →
// apiextensions-apiserver → 404. Options carries kube-apiserver's flags;
// Options.Config turns them into a Config; New builds the Server; Start
// runs it until its context ends. It holds no per-resource logic: that is
// in apiserver/registry.
package server
