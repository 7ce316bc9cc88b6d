// Package integration holds the API-server tests of the endpoints,
// EndpointSlice, EndpointSlice mirroring, ServiceAccount, token, root CA
// publisher and token cleaner controllers, run together against one
// in-process Skiff API server. It has no non-test code.
package integration
