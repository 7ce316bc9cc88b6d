// Command podstartup is the pod driver of hack/bench-kubelet.sh: "create"
// makes N pods at once and prints, from one watch, each pod's latency from
// its create request to Running and to Ready (p50/p99/max) and the time to
// all Ready; "delete" deletes them and prints the time until all are gone.
// It measures what a cluster does; it starts nothing itself.
package main
