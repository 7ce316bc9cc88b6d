// Command loadgen drives a local Kubernetes API server with client-go and
// prints throughput and latency figures, one "name value" line each, for
// hack/bench-apiserver.sh. It is a benchmark driver, not a conformance or
// correctness test, and it refuses servers that are not on the loopback
// interface.
package main
