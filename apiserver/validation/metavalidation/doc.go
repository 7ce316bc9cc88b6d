// Package metavalidation holds the object-metadata and finalizer checks that
// several of Skiff's validation packages share, with the rules upstream's
// pkg/apis/core/validation adds on top of k8s.io/apimachinery's. It does not
// validate any kind itself; the per-group packages do.
package metavalidation
