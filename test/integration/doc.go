// Package integration tests Skiff's API server in-process (one real server
// per test binary, started by TestMain through apiserver/testserver): API
// machinery behaviour, security responses and bad-input handling, over
// TLS with real clients.
package integration
