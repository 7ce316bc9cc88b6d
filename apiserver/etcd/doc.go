// Package etcd runs the embedded etcd server (go.etcd.io/etcd/server/v3/embed)
// that stores Skiff's API objects when no external etcd cluster is given. It
// owns the server's lifecycle only; the API server talks to it through the
// upstream etcd3 storage like to any etcd.
package etcd
