// Package cluster brings a multi-node Skiff cluster up on one host and takes
// it down again: the machinery behind `skiff up`, `skiff down` and
// `skiff status`.
//
// A cluster is a directory of state (its config, PKI, every node's data and
// logs) plus what runs from it: a host bridge with one network namespace per
// node (cluster/hostnet), a cgroup per node carrying its CPU and memory
// limits, and per node the daemons (cluster/daemon) a real machine would run
// — etcd and `skiff server` on control-plane nodes, `skiff kubelet` (with its
// own containerd), `skiff proxy` and, on control-plane nodes, `skiff dns`.
// Nodes join through bootstrap tokens and CertificateSigningRequests, the
// way `skiff join` joins other machines. Every step is idempotent, so
// running Up again after a crash or a reboot reconciles what is missing and
// keeps what runs.
package cluster
