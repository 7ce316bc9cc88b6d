// Command scheduler is the load driver of hack/bench-scheduler.sh: it
// creates fake Node objects and unbound pods against an API server, runs
// Skiff's scheduler in this process, and prints the scheduling throughput
// (pods/s from the first to the last bind) and the per-pod latency from
// creation to bound as seen by a watch.
package main
