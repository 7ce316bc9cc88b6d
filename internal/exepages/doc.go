// Package exepages drops the running process's mappings of its own
// executable's read-only pages (code and read-only data) once start-up is
// over, so that the process's file-backed RSS is the working set it uses
// afterwards rather than every page start-up touched.
//
// It does not free memory of the process's own: the pages stay in the page
// cache and are mapped again, from there, on their next use. It never
// touches writable or anonymous memory. It is not a memory limiter.
package exepages
