// Package batchtest holds the tests of the job, cronjob and
// ttl-after-finished controllers against an in-process Skiff API server
// (one test binary for the three, to keep CI fast). It has no non-test
// code.
package batchtest
