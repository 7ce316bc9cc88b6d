// Package apis is the root of Skiff's own versioned configuration APIs (cluster
// and component configuration), in the style of kind's pkg/apis/config. It
// holds no Kubernetes API types: those come from k8s.io/api.
package apis
