// Package discoveryset lists the resources an API server serves, as the
// garbage collector and the namespace controller need them: every preferred
// group-version-resource supporting a given set of verbs, custom resources
// included, with partial results when some API groups fail discovery.
package discoveryset
