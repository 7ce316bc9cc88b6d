// Command crilogger measures what a container log writer costs, run as the
// containerd shim runs it (`<binary> skiff-cri-logger <path>`, streams on
// fds 3 and 4, ready on fd 5), for each binary given: N starts one after
// another (wall time to ready, CPU time and peak RSS of the whole run from
// rusage), and K running at once (RSS and PSS of each from
// /proc/<pid>/smaps_rollup once all are ready). It prints figures, never
// pass/fail; note the machine's load beside them.
//
//	go run ./test/bench/crilogger -n 20 -k 30 bin/skiff-cri-logger bin/skiff
package main
