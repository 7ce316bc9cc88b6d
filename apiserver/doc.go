// Package apiserver is the root of Skiff's Kubernetes API server, built on
// k8s.io/apiserver with the upstream k8s.io/api types and stored in etcd.
// Subpackages assemble the server (server), declare resources (registry),
// and hold validation, defaulting, printing, authentication, authorization
// and admission.
package apiserver
