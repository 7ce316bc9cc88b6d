// Package version holds the version Skiff reports: the Kubernetes release it
// serves with Skiff's own release as semver build metadata (v1.37.2+skiff.X.Y.Z).
// The values are stamped by hack/build.sh; it is not a place for feature flags.
package version
