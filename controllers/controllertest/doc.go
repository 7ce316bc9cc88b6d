// Package controllertest runs controllers against a real, in-process Skiff
// API server for their tests: one server per test package (started from
// TestMain), the selected controllers in a controller-runtime manager, a
// fresh namespace per test, and polling helpers with deadlines.
package controllertest
