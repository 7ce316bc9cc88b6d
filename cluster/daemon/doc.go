// Package daemon starts and stops the long-running processes of a
// `skiff up` cluster (API servers, kubelets, proxies, DNS) detached from the
// command that started them: each runs in its own session, optionally inside
// a node's network namespace and cgroup, logs to a file, and is found again
// through a pid file whose process is checked to still be the one started
// (its command line carries a marker), so a re-run of `skiff up` adopts
// what runs and `skiff down` stops it even after the starter is gone.
package daemon
