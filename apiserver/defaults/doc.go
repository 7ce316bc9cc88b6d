// Package defaults holds Skiff's defaulting functions for the external
// k8s.io/api types, with upstream's defaults (read from upstream's
// pkg/apis/<group>/v1/defaults.go, written here anew). AddToScheme registers
// them so that the API server's codecs apply them on every decode. Defaults
// that depend on the request or on stored state belong in the resource's
// strategy instead.
package defaults
