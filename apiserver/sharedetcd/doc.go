// Package sharedetcd gives every resource's storage one etcd client per
// etcd cluster, where k8s.io/apiserver's storage factory dials a client of
// its own for each resource (about 65 in Skiff: 65 gRPC connections, each
// with its transport goroutines and buffers on both ends when etcd is
// embedded). Requests and watches of all resources are multiplexed on the
// one connection, as any etcd client does.
//
// It replaces only how the raw etcd3 storage gets its client; the storage
// itself (k8s.io/apiserver/pkg/storage/etcd3) and the watch cache in front
// of it are upstream's.
package sharedetcd
