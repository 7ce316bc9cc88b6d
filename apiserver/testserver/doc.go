// Package testserver starts a real Skiff API server in-process for tests:
// embedded etcd in a temporary directory, a random loopback port, its own
// CA and an admin client. It is for tests of Skiff and of programs that
// talk to it; it is not a fake — every request goes through the whole
// server over TLS.
package testserver
