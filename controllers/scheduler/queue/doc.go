// Package queue is the scheduling queue: an activeQ ordered by priority then
// enqueue time, a backoffQ (1s initial, doubling per attempt, 10s max) and a
// set of unschedulable pods that cluster events move back and that are
// flushed after five minutes, as upstream's PriorityQueue. Pods with
// scheduling gates wait, unscheduled, until their gates are removed.
package queue
