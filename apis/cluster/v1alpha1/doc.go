// Package v1alpha1 is version v1alpha1 of Skiff's cluster configuration API
// (apiVersion skiff.dev/v1alpha1, kind Cluster): the file `skiff up --config`
// reads, describing a cluster's nodes and roles, networking, feature gates,
// extra component arguments, images to preload and per-node resource limits.
// Defaulting and validation live beside the types; validation errors name
// the field they are about.
//
// +k8s:deepcopy-gen=package
// +groupName=skiff.dev
package v1alpha1
